"""Format A, the block path: a whole block of regular lines decoded by msgspec at once.

It must give exactly the rows of the exact path (`landing.events`), only faster; every case
it cannot vouch for goes to the exact path instead:

- The block is taken whole only when each physical line is one record as it stands
  (`Block.json_lines`), and then only when every line starts with `{` and ends with `}`.
  msgspec reads a buffer as a stream of values, not of lines, so that shape is what proves
  one value per line: a value cannot continue past a line end, because `}` followed by `{`
  never occurs inside one JSON value and a string cannot hold a raw newline; so each line
  holds at least one value, and as many values as lines means exactly one each.
- Typed decoding (`_Envelope`) checks the regular shape: the five envelope keys with their
  contract types. A block (or group of lines) with any other record goes to the exact path.
- One sorted encode gives every canonical record; the envelope strings and payload keys become
  columns straight from msgspec's typed values. Records whose payload holds a number msgspec
  writes or reads unlike `canonical_json` (a positive exponent, a run of 19+ digits) and
  envelope strings with an escape are redone exactly.
- No Python object is made per line or per record past msgspec: the line ends are found with
  numpy, the lines and canonical records become Arrow columns over the buffers they are in,
  and the event id is the SHA-256 of each canonical record computed over the whole column
  (polars-hash, the same digest as `hashlib.sha256(record).hexdigest()`).
"""

from __future__ import annotations

import sys
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa
from msgspec import UNSET, UnsetType

from telemetry_assets.landing.block_path import (
    EVENT_ID,
    NEWLINE,
    decode_blocks_path,
    line_ends,
    redo_exactly,
)
from telemetry_assets.landing.block_path import NOT_CANONICAL_NUMBER as _NOT_CANONICAL_NUMBER
from telemetry_assets.landing.block_path import NOT_REGULAR as _NOT_REGULAR
from telemetry_assets.landing.block_path import SORTED_ENCODER as _SORTED_ENCODER
from telemetry_assets.landing.candidate_rows import KEY_FIELDS, STRING_FIELDS, no_cyclic_gc
from telemetry_assets.landing.events import TYPE_DEFAULTS, decode_events
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import MAX_DEPTH, key_texts
from telemetry_assets.landing.lines import Block
from telemetry_assets.schemas.candidates import CANDIDATE_SCHEMA, JsonType

# Characters an encoder escapes in a string; envelope strings without them encode as "<text>".
_ESCAPED = r'["\\\x00-\x1f]'


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """The regular v1 record: exactly the five envelope keys, each of its contract type."""

    schema_version: str
    channel: str
    event: str
    timestamp: str
    payload: dict[str, Any]


_Key = str | int | None | UnsetType


class _PayloadKeys(msgspec.Struct):
    """The payload keys the pipeline reads, in the types that map without a judgement."""

    user_id: _Key = UNSET
    session_id: _Key = UNSET
    feature_id: _Key = UNSET
    service: _Key = UNSET
    latency_ms: float | UnsetType | None = UNSET


class _KeysView(msgspec.Struct):
    payload: _PayloadKeys


_REGULAR = msgspec.json.Decoder(_Envelope)
_KEYS = msgspec.json.Decoder(_KeysView)
_ENVELOPE_STRINGS = ("channel", "event", "schema_version", "timestamp")
# Fixed text around the envelope values in a canonical record, to cut the payload out of it.
_BEFORE_PAYLOAD = len('{"channel":"","event":"","payload":')
_AFTER_PAYLOAD_TEXT = len(',"schema_version":"","timestamp":""}')


def decode_event_block(block: Block) -> pl.DataFrame:
    """Candidate rows of a block: the whole block as regular records when it is one,
    otherwise groups of lines, and the exact path for the groups that are not regular."""
    (frame,) = decode_event_blocks([block])
    return frame


def decode_event_blocks(blocks: list[Block]) -> list[pl.DataFrame]:
    """`decode_event_block` of each block, small blocks decoded together."""
    return decode_blocks_path(blocks, _regular_frame, decode_events)


def _lines_column(buffer: bytes, ends: np.ndarray) -> pl.Series:
    """The lines of `buffer` ending at `ends` (their `\\n` left out) as one Binary column,
    built from the buffer without a Python object per line."""
    data = np.frombuffer(buffer, dtype=np.uint8)
    offsets = np.empty(ends.size + 1, dtype=np.int64)
    offsets[0] = 0
    # Line i starts after the i newlines before it: with them removed from the data, it spans
    # [end(i - 1) + 1 - i, end(i) - i).
    offsets[1:] = ends - np.arange(ends.size, dtype=np.int64)
    values = np.delete(data[: ends[-1]], ends[:-1])
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), ends.size, [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )
    return pl.Series(lines)


def _depth_limited() -> bool:
    """Whether msgspec refuses every record nested deeper than the contract's MAX_DEPTH.

    Its depth limit is Python's recursion limit (less the stack in use), so at the default
    1000 it is; a raised limit (a caller's, or the exact path's while it parses) would let a
    record the contract calls invalid JSON through, so the buffer takes the exact path.
    """
    return sys.getrecursionlimit() <= MAX_DEPTH


def _fields(envelopes: list[_Envelope], keys: list[_KeysView]) -> pl.DataFrame:
    """The envelope strings and payload keys of each record, from msgspec's typed values.

    Taken from msgspec's values, not by parsing the canonical records again (a JSON parse of
    every record cost 3.2 µs of CPU, a third of the block path), and exactly what that parse
    gives, up to empty keys (none here, "" there; `_REGULAR_COLUMNS` makes both none): the
    strings are the decoded text; a key integer is written in decimal, as the canonical
    encoding does; a latency is the double msgspec decoded (a number with a run of
    19+ digits is redone).
    """
    payloads = [view.payload for view in keys]
    columns = [
        pl.Series(name, list(map(attrgetter(name), envelopes)), dtype=pl.String)
        for name in _ENVELOPE_STRINGS
    ]
    columns += [
        pl.Series(name, key_texts(map(attrgetter(name), payloads)), dtype=pl.String)
        for name in KEY_FIELDS
    ]
    latencies = list(map(attrgetter("latency_ms"), payloads))
    columns.append(
        pl.Series(
            "latency_ms",
            [None if latency is UNSET else latency for latency in latencies],
            dtype=pl.Float64,
        )
    )
    columns.append(pl.Series("latency_absent", [latency is UNSET for latency in latencies]))
    return pl.DataFrame(columns)


def _regular_frame(buffer: bytes, numbers: pl.Series) -> pl.DataFrame | None:
    """Candidate rows of a buffer whose every line is one regular record (None when not),
    given each line's number."""
    ends = line_ends(buffer)
    if ends is None or not _depth_limited():
        return None
    with no_cyclic_gc():
        try:
            envelopes = _REGULAR.decode_lines(buffer)
            keys = _KEYS.decode_lines(buffer)
        except _NOT_REGULAR:
            return None
        if len(envelopes) != ends.size:
            return None
        canonical = _SORTED_ENCODER.encode_lines(envelopes)
        fields = _fields(envelopes, keys)
        del envelopes, keys
    # msgspec escapes control characters, so a canonical record holds no raw newline.
    record_ends = np.flatnonzero(np.frombuffer(canonical, dtype=np.uint8) == NEWLINE)
    frame = fields.with_columns(
        source_line=numbers.cast(pl.Int64),
        raw=_lines_column(buffer, ends),
        record=_lines_column(canonical, record_ends).cast(pl.String),
    ).with_columns(_REGULAR_COLUMNS)
    return _exact_where_needed(frame, canonical)


def _latency_type() -> pl.Expr:
    return (
        pl.when(pl.col("latency_ms").is_not_null())
        .then(pl.lit(JsonType.NUMBER.value))
        .when(pl.col("latency_absent"))
        .then(pl.lit(JsonType.ABSENT.value))
        .otherwise(pl.lit(JsonType.NULL.value))
    )


def _payload_text() -> pl.Expr:
    """The payload's canonical text, cut from the canonical record by the envelope strings'
    lengths (exact when none of them needs an escape; the rows where one does are redone)."""
    start = _BEFORE_PAYLOAD + pl.col("channel").str.len_chars() + pl.col("event").str.len_chars()
    tail = (
        _AFTER_PAYLOAD_TEXT
        + pl.col("schema_version").str.len_chars()
        + pl.col("timestamp").str.len_chars()
    )
    return pl.col("record").str.slice(start, pl.col("record").str.len_chars() - start - tail)


# What every regular record has in common, and the keys as the contract reads them ("" is none).
_REGULAR_COLUMNS = [
    EVENT_ID,
    _payload_text().alias("payload"),
    _latency_type().alias("latency_type"),
    *(pl.when(pl.col(key) != "").then(pl.col(key)).alias(key) for key in KEY_FIELDS),
    pl.lit(FileFormat.EVENTS.value).alias("format"),
    *(pl.lit(kind).alias(column) for column, kind in TYPE_DEFAULTS.items()),
    *(
        pl.lit(None, dtype=pl.String).alias(name)
        for name in CANDIDATE_SCHEMA
        if name.endswith("_type") and name not in TYPE_DEFAULTS and name != "latency_type"
    ),
    *(pl.lit(None, dtype=pl.String).alias(name) for name in ("parse_error", "parse_detail")),
]


def _exact_where_needed(frame: pl.DataFrame, canonical: bytes) -> pl.DataFrame:
    """Decode again on the exact path the rows the block path cannot vouch for: a number
    msgspec writes or reads unlike `canonical_json` (numbers only occur in the payload), or an
    envelope string with an escape (only looked for when the block has a backslash at all)."""
    checks = [pl.col("payload").str.contains(_NOT_CANONICAL_NUMBER)]
    if b"\\" in canonical:
        checks.extend(pl.col(name).str.contains(_ESCAPED) for name in STRING_FIELDS)
    kept = frame.select(CANDIDATE_SCHEMA.names())
    needs = frame.select(pl.arg_where(pl.any_horizontal(checks))).to_series()
    return redo_exactly(kept, needs, decode_events)
