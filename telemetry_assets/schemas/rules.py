"""Validation rules: for each reason code, when a record passes and how to explain a failure.

A rule is a pair of Polars expressions over the gate frame (`schemas.candidates` plus the
derived `file_day`, `ts_us` and `event_day`): `passes` is true for every row the rule accepts,
including rows the rule does not apply to; `detail` is the human text for a row that fails.
The pandera models (`schemas.models`) are built from these rules, so each rule is written once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from telemetry_assets.schemas.candidates import MISSING_TYPES, JsonType
from telemetry_assets.schemas.reasons import Reason
from telemetry_assets.windows import EARLY_DAYS


@dataclass(frozen=True)
class Rule:
    reason: Reason
    passes: pl.Expr
    detail: pl.Expr


# Field names as an input format calls them, where they differ from the v1 names.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "event": {"metrics": "metric_type", "logs": "level"},
    "timestamp": {"logs": "ts"},
}


def _field_label(field: str) -> pl.Expr:
    labels = FIELD_LABELS.get(field)
    if not labels:
        return pl.lit(field)
    return pl.col("format").replace_strict(labels, default=field, return_dtype=pl.String)


def _join_failures(pieces: list[pl.Expr], separator: str) -> pl.Expr:
    return pl.concat_list(pieces).list.drop_nulls().list.join(separator)


def _parse_error_rule(reason: Reason) -> Rule:
    return Rule(
        reason,
        passes=(pl.col("parse_error") != reason.value).fill_null(True),
        detail=pl.col("parse_detail"),
    )


REQUIRED_FIELDS = (
    "schema_version",
    "channel",
    "event",
    "timestamp",
    "payload",
    "service",
    "value",
    "message",
)
EXPECTED_TYPES: dict[str, tuple[str, ...]] = {
    "schema_version": (JsonType.STRING,),
    "channel": (JsonType.STRING,),
    "event": (JsonType.STRING,),
    "timestamp": (JsonType.STRING,),
    "service": (JsonType.STRING,),
    "payload": (JsonType.OBJECT,),
    "value": (JsonType.NUMBER,),
    "tags": (JsonType.OBJECT, *MISSING_TYPES),
    "message": (JsonType.STRING,),
    "context": (JsonType.OBJECT, *MISSING_TYPES),
}
LATENCY_TYPES = (JsonType.NUMBER.value, *MISSING_TYPES)


def _is_missing(field: str) -> pl.Expr:
    return pl.col(f"{field}_type").is_in(MISSING_TYPES).fill_null(False)


def _has_wrong_type(field: str) -> pl.Expr:
    allowed = [str(kind) for kind in EXPECTED_TYPES[field]]
    return (~pl.col(f"{field}_type").is_in(allowed)).fill_null(False)


MISSING_FIELD = Rule(
    Reason.MISSING_FIELD,
    passes=~pl.any_horizontal(_is_missing(field) for field in REQUIRED_FIELDS),
    detail=pl.lit("missing or null: ")
    + _join_failures(
        [pl.when(_is_missing(f)).then(_field_label(f)) for f in REQUIRED_FIELDS], ", "
    ),
)

WRONG_TYPE = Rule(
    Reason.WRONG_TYPE,
    passes=~pl.any_horizontal(_has_wrong_type(field) for field in EXPECTED_TYPES),
    detail=_join_failures(
        [
            pl.when(_has_wrong_type(f)).then(
                pl.format(
                    "{} is {}, expected {}",
                    _field_label(f),
                    pl.col(f"{f}_type"),
                    pl.lit(" or ".join(EXPECTED_TYPES[f])),
                )
            )
            for f in EXPECTED_TYPES
        ],
        "; ",
    ),
)


def unknown_schema_version(known: tuple[str, ...]) -> Rule:
    return Rule(
        Reason.UNKNOWN_SCHEMA_VERSION,
        passes=(
            (pl.col("schema_version_type") != JsonType.STRING.value)
            | pl.col("schema_version").is_in(known)
        ).fill_null(True),
        detail=pl.format(
            "schema_version {} has no model (known: {})",
            pl.col("schema_version"),
            pl.lit(", ".join(known)),
        ),
    )


EMPTY_EVENT = Rule(
    Reason.EMPTY_EVENT,
    passes=(pl.col("event").str.strip_chars().str.len_chars() > 0).fill_null(True),
    detail=_field_label("event") + pl.lit(" is empty or whitespace only"),
)

INVALID_TIMESTAMP = Rule(
    Reason.INVALID_TIMESTAMP,
    passes=pl.col("ts_us").is_not_null() | pl.col("timestamp").is_null(),
    detail=pl.format(
        "timestamp '{}' is not YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM] or not a real date/time",
        pl.col("timestamp"),
    ),
)

_DAYS_AHEAD = (pl.col("event_day") - pl.col("file_day")).dt.total_days()

FUTURE_TIMESTAMP = Rule(
    Reason.FUTURE_TIMESTAMP,
    passes=(_DAYS_AHEAD <= EARLY_DAYS).fill_null(True),
    detail=pl.format(
        "event day {} is {} days after the file day {}",
        pl.col("event_day"),
        _DAYS_AHEAD,
        pl.col("file_day"),
    ),
)


def too_late(late_days: int) -> Rule:
    days_late = -_DAYS_AHEAD
    return Rule(
        Reason.TOO_LATE,
        passes=(days_late <= late_days).fill_null(True),
        detail=pl.format(
            "event day {} is {} days before the file day {} (TELEMETRY_LATE_DAYS={})",
            pl.col("event_day"),
            days_late,
            pl.col("file_day"),
            pl.lit(late_days),
        ),
    )


def before_start_date(start_date: dt.date) -> Rule:
    return Rule(
        Reason.BEFORE_START_DATE,
        passes=(pl.col("event_day") >= start_date).fill_null(True),
        detail=pl.format(
            "event day {} is before the first day partition {} (TELEMETRY_START_DATE)",
            pl.col("event_day"),
            pl.lit(start_date.isoformat()),
        ),
    )


NEGATIVE_LATENCY = Rule(
    Reason.NEGATIVE_LATENCY,
    passes=(pl.col("latency_ms") >= 0).fill_null(True),
    detail=pl.format("latency_ms is {}, below 0", pl.col("latency_ms")),
)

INVALID_LATENCY = Rule(
    Reason.INVALID_LATENCY,
    passes=pl.col("latency_type").is_in(LATENCY_TYPES).fill_null(True),
    detail=pl.format("latency_ms is {}, expected a number", pl.col("latency_type")),
)

INVALID_JSON = _parse_error_rule(Reason.INVALID_JSON)
TRUNCATED_LINE = _parse_error_rule(Reason.TRUNCATED_LINE)
BAD_COLUMN_COUNT = _parse_error_rule(Reason.BAD_COLUMN_COUNT)

RULE_INPUT_COLUMNS: tuple[str, ...] = (
    "format",
    "parse_error",
    "schema_version",
    "event",
    "timestamp",
    "latency_ms",
    *(f"{field}_type" for field in (*REQUIRED_FIELDS, "tags", "context", "latency")),
    "ts_us",
    "event_day",
    "file_day",
)
