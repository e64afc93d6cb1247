"""Format C, the block path: a whole block of regular metric samples decoded by msgspec at once.

It must give exactly the rows of the exact path (`landing.metric_samples`), only faster; every
case it cannot vouch for goes to the exact path instead (lines and groups as for format A,
see `block_path`):

- Typed decoding (`_Sample`) admits only the regular sample: timestamp, service and
  metric_type strings, value a number, and tags, when present, an object of scalars (flat, so
  no nesting limit to mind), no other key. Any other record (a missing or null field, another
  type, nested tags, an extra key, invalid JSON or UTF-8) sends its block or group to the
  exact path, which also gives such records their own type columns.
- msgspec is as strict as orjson (RFC 8259, UTF-8, the last of duplicate keys wins) and reads
  a regular line into the same Python values as `parse_line` (integers of any size keep their
  digits, floats are correctly rounded). The mapping below is `metric_samples._map_sample`'s on
  those values, and the typed fields are read from them with the same helpers (`key_texts`,
  `json_type`, `as_float`); only the type columns of tags and latency vary between regular
  samples.
- One sorted encode gives every canonical record and another every payload. msgspec writes
  strings and key order as `canonical_json` does (the same escapes, keys by code point), and
  numbers too except those `NOT_CANONICAL_NUMBER` finds (numbers only occur in the payload):
  those rows are redone exactly. No text is cut by position, so escapes need no guard.
"""

from __future__ import annotations

from typing import Any

import msgspec
import polars as pl
from msgspec import UNSET, UnsetType

from telemetry_assets.landing.block_path import (
    EVENT_ID,
    NOT_REGULAR,
    SORTED_ENCODER,
    decode_blocks_path,
    non_canonical_numbers,
    one_object_per_line,
    redo_exactly,
)
from telemetry_assets.landing.candidate_rows import (
    KEY_FIELDS,
    TYPE_COLUMNS,
    constant_column,
    no_cyclic_gc,
)
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import ABSENT, as_float, json_type, key_texts
from telemetry_assets.landing.lines import Block
from telemetry_assets.landing.metric_samples import TYPE_DEFAULTS, decode_metric_samples
from telemetry_assets.schemas.candidates import CANDIDATE_SCHEMA, JsonType
from telemetry_assets.schemas.versions import V1

_Scalar = str | int | float | bool | None


class _Sample(msgspec.Struct, forbid_unknown_fields=True):
    """The regular metric sample: its keys of their contract types, tags flat when present."""

    timestamp: str
    service: str
    metric_type: str
    value: int | float
    tags: dict[str, _Scalar] | UnsetType = UNSET


class _Mapped(msgspec.Struct):
    """A sample's v1 record (the sorted encoder writes its fields in name order)."""

    event: str
    payload: dict[str, Any]
    timestamp: str
    channel: str = "metric"
    schema_version: str = V1


_SAMPLES = msgspec.json.Decoder(_Sample)
_NUMBER = JsonType.NUMBER.value
_TAGS = {True: JsonType.ABSENT.value, False: JsonType.OBJECT.value}  # keyed by "tags absent"
# Columns every regular sample shares (the type columns the gate reads, as the exact path
# states them for a regular sample; tags and latency types vary and are set per row).
_CONSTANTS: dict[str, str | None] = {
    "format": FileFormat.METRICS.value,
    "parse_error": None,
    "parse_detail": None,
    "schema_version": V1,
    "channel": "metric",
    **{column: TYPE_DEFAULTS.get(column) for column in TYPE_COLUMNS},
}


def decode_metric_block(block: Block) -> pl.DataFrame:
    """Candidate rows of a block of format C: the block path where regular, else exact."""
    (frame,) = decode_metric_blocks([block])
    return frame


def decode_metric_blocks(blocks: list[Block]) -> list[pl.DataFrame]:
    """`decode_metric_block` of each block, small blocks decoded together."""
    return decode_blocks_path(blocks, _regular_frame, decode_metric_samples)


def _regular_frame(buffer: bytes, numbers: pl.Series) -> pl.DataFrame | None:
    """Candidate rows of a buffer whose every line is one regular sample (None when not)."""
    if not one_object_per_line(buffer):
        return None
    with no_cyclic_gc():
        try:
            samples = _SAMPLES.decode_lines(buffer)
        except NOT_REGULAR:
            return None
        if len(samples) != len(numbers):
            return None
        payloads = [_payload(sample) for sample in samples]
        records = SORTED_ENCODER.encode_lines(
            [_Mapped(s.metric_type, p, s.timestamp) for s, p in zip(samples, payloads, strict=True)]
        )
        payload_texts = SORTED_ENCODER.encode_lines(payloads)
        frame = _frame(buffer, numbers, samples, payloads, records, payload_texts)
    redo = non_canonical_numbers(payload_texts)
    return redo_exactly(frame, pl.Series(redo, dtype=pl.UInt32), decode_metric_samples)


def _payload(sample: _Sample) -> dict[str, Any]:
    """tags + {service, value}, plus latency_ms = value for a latency sample (the decoded
    tags are the sample's own, so they are completed in place)."""
    tags = sample.tags
    payload: dict[str, Any] = {} if tags is UNSET else tags
    payload["service"] = sample.service
    payload["value"] = sample.value
    if sample.metric_type == "latency":
        payload["latency_ms"] = sample.value
    return payload


def _frame(
    buffer: bytes,
    numbers: pl.Series,
    samples: list[_Sample],
    payloads: list[dict[str, Any]],
    records: bytes,
    payload_texts: bytes,
) -> pl.DataFrame:
    """The candidate columns (built as named Series and stacked: a small block would pay more
    for a DataFrame constructor's checks than for its columns)."""
    rows = len(samples)
    latencies = [payload.get("latency_ms", ABSENT) for payload in payloads]
    # json_type depends on the type alone (ABSENT is the only `object`): asked once per type
    one_of_each = {type(latency): latency for latency in latencies}
    kinds = {kind: json_type(latency) for kind, latency in one_of_each.items()}
    latency_types = [kinds[type(latency)] for latency in latencies]
    keys = set().union(*payloads)  # the payload keys of the block, to skip keys none has
    series = {name: constant_column(value, rows, name) for name, value in _CONSTANTS.items()}
    for name in KEY_FIELDS:
        if name in keys:
            series[name] = pl.Series(
                name, key_texts(payload.get(name) for payload in payloads), dtype=pl.String
            )
        else:
            series[name] = constant_column(None, rows, name)
    series.update(
        source_line=numbers.cast(pl.Int64).alias("source_line"),
        raw=pl.Series("raw", buffer.split(b"\n")[:rows], dtype=pl.Binary),
        event=pl.Series("event", [sample.metric_type for sample in samples], dtype=pl.String),
        timestamp=pl.Series("timestamp", [sample.timestamp for sample in samples], dtype=pl.String),
        tags_type=pl.Series(
            "tags_type", [_TAGS[sample.tags is UNSET] for sample in samples], dtype=pl.String
        ),
        latency_type=pl.Series("latency_type", latency_types, dtype=pl.String),
        latency_ms=pl.Series(
            "latency_ms",
            [
                as_float(latency) if kind == _NUMBER else None
                for latency, kind in zip(latencies, latency_types, strict=True)
            ],
            dtype=pl.Float64,
        ),
        payload=pl.Series("payload", _lines(payload_texts.decode()), dtype=pl.String),
        event_id=pl.DataFrame({"record": _lines(records.decode())}, schema={"record": pl.String})
        .select(EVENT_ID)
        .to_series(),
    )
    first, *rest = (series[name] for name in CANDIDATE_SCHEMA)
    return first.to_frame().hstack(rest)


def _lines(encoded: str) -> list[str]:
    """The values of an `encode_lines` output (each ends with a newline; none holds one)."""
    values = encoded.split("\n")
    values.pop()
    return values
