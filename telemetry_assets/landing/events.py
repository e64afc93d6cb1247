"""Format A, the exact path: `telemetry_event_v1` objects, one per line, any shape.

One Python iteration per record. Most records are regular (the five envelope keys with their
contract types); those are serialised once with msgspec's sorted encoder, whose bytes equal
`canonical_json`'s except for floats with a positive exponent (`1e20` against `1e+20`), which
`_exponents_as_canonical` writes again. Anything else takes the general mapping.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import polars as pl

from telemetry_assets.landing.candidate_rows import (
    ENVELOPE_TYPES,
    STRING_FIELDS,
    CandidateRows,
    RecordError,
    json_objects,
    no_cyclic_gc,
)
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import ABSENT, canonical_json, json_type, parse_line
from telemetry_assets.landing.lines import FileLines

ENVELOPE_KEYS = (*STRING_FIELDS, "payload")
TYPE_DEFAULTS = ENVELOPE_TYPES
# A float with a positive exponent as msgspec writes it (or string content that looks like one).
POSITIVE_EXPONENT = r"[:,\[]-?\d+(?:\.\d+)?e\d+[,}\]]"
_SORTED_ENCODE = msgspec.json.Encoder(order="sorted").encode
# In the canonical (sorted) v1 record the payload sits between these two keys.
_PAYLOAD_KEY, _AFTER_PAYLOAD = b',"payload":', b',"schema_version":'


def _is_regular(obj: dict[str, Any]) -> bool:
    return (
        len(obj) == 5
        and type(obj.get("payload")) is dict
        and all(type(obj.get(key)) is str for key in STRING_FIELDS)
    )


def _map_any(rows: CandidateRows, obj: dict[str, Any]) -> None:
    """Any object: the envelope keys it has, each with the JSON type it was written with."""
    mapped = {key: obj[key] for key in ENVELOPE_KEYS if key in obj}
    types = {f"{key}_type": json_type(obj.get(key, ABSENT)) for key in ENVELOPE_KEYS}
    rows.mapped(mapped, types)


def _map_regular(rows: CandidateRows, obj: dict[str, Any]) -> bool:
    """A regular record serialised once (the payload text is cut from the record's); False
    when msgspec cannot write it (nesting beyond its limit), for the general mapping to do."""
    try:
        canonical = _SORTED_ENCODE(obj)
    except (RecursionError, msgspec.EncodeError):
        return False
    start = canonical.index(_PAYLOAD_KEY) + len(_PAYLOAD_KEY)
    rows.append_fields(obj, canonical[start : canonical.rindex(_AFTER_PAYLOAD)], canonical)
    return True


def decode_events(lines: FileLines) -> pl.DataFrame:
    """Candidate rows of format A records, one per record, in line order."""
    rows = CandidateRows(FileFormat.EVENTS, lines, TYPE_DEFAULTS)
    general: set[int] = set()
    with no_cyclic_gc():
        for number, obj in json_objects(rows):
            try:
                if not (_is_regular(obj) and _map_regular(rows, obj)):
                    general.add(len(rows))
                    _map_any(rows, obj)
            except Exception as error:
                raise RecordError(number, error) from error
    return _exponents_as_canonical(rows.frame(), general)


def _exponents_as_canonical(frame: pl.DataFrame, general: set[int]) -> pl.DataFrame:
    """Encode again, with `canonical_json`, the msgspec-written records whose payload may hold
    a float with a positive exponent (found by one vectorised regex; almost always none)."""
    found = frame.select(pl.arg_where(pl.col("payload").str.contains(POSITIVE_EXPONENT)))
    rows = [row for row in found.to_series().to_list() if row not in general]
    if not rows:
        return frame
    records = [parse_line(raw) for raw in frame.get_column("raw").gather(rows)]
    payloads = [canonical_json(record["payload"]).decode() for record in records]
    ids = [hashlib.sha256(canonical_json(record)).hexdigest() for record in records]
    return frame.with_columns(
        frame.get_column("payload").scatter(rows, pl.Series(payloads, dtype=pl.String)),
        frame.get_column("event_id").scatter(rows, pl.Series(ids, dtype=pl.String)),
    )
