"""Reason codes for quarantined records, in the order the contract evaluates them.

The first failing rule wins; the enum's definition order *is* that order.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    INVALID_JSON = "invalid_json"
    TRUNCATED_LINE = "truncated_line"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    EMPTY_EVENT = "empty_event"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_LATE = "too_late"
    BEFORE_START_DATE = "before_start_date"
    NEGATIVE_LATENCY = "negative_latency"
    INVALID_LATENCY = "invalid_latency"
    BAD_COLUMN_COUNT = "bad_column_count"


REASON_ORDER: tuple[Reason, ...] = tuple(Reason)
REASON_RANK: dict[str, int] = {reason.value: rank for rank, reason in enumerate(REASON_ORDER)}
