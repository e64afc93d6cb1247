"""The gate's input: one row per landing record, carrying each checked field's JSON type.

Readers record the JSON type every field had *as written* (`<field>_type`), because Polars'
own JSON reader silently casts mixed-type columns to strings and the gate's `wrong_type` and
`invalid_latency` verdicts depend on the original type. A null type means "this format has no
such field", which no rule can fail.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl


class JsonType(StrEnum):
    ABSENT = "absent"
    NULL = "null"
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    OBJECT = "object"
    ARRAY = "array"


MISSING_TYPES = (JsonType.ABSENT.value, JsonType.NULL.value)

# (type column, field name in the contract, the type the contract requires or None)
TYPED_FIELDS: tuple[tuple[str, str], ...] = (
    ("schema_version_type", "schema_version"),
    ("channel_type", "channel"),
    ("event_type", "event"),
    ("timestamp_type", "timestamp"),
    ("payload_type", "payload"),
    ("service_type", "service"),
    ("value_type", "value"),
    ("tags_type", "tags"),
    ("message_type", "message"),
    ("context_type", "context"),
    ("latency_type", "latency_ms"),
)

CANDIDATE_SCHEMA = pl.Schema(
    {
        "source_line": pl.Int64,
        "format": pl.String,
        "parse_error": pl.String,
        "parse_detail": pl.String,
        "raw": pl.Binary,
        "schema_version": pl.String,
        "channel": pl.String,
        "event": pl.String,
        "timestamp": pl.String,
        **{type_column: pl.String for type_column, _ in TYPED_FIELDS},
        "latency_ms": pl.Float64,
        "user_id": pl.String,
        "session_id": pl.String,
        "feature_id": pl.String,
        "service": pl.String,
        "payload": pl.String,
        "event_id": pl.String,
    }
)
