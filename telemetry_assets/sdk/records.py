"""Build the landing-contract records (DESIGN §4) and refuse anything the pipeline would quarantine.

Every record is checked and serialised when it is recorded, on the caller's thread. A bad
call (empty name, NaN, a naive datetime, a payload that is not JSON) raises `ValueError` at the
call site, every time: validation runs before sampling, so a bug does not hide behind a 1 %
sample rate, and nothing invalid ever reaches the buffer, the exporters or the quarantine.
Serialising early also snapshots the caller's dicts, which they may mutate afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

RecordKind = Literal["events", "metrics", "logs"]
SCHEMA_VERSION = "telemetry_event_v1"

TagValue = str | int | float | bool


class Severity(StrEnum):
    """Severity of an event and level of a log record (the levels the pipeline knows)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Record:
    """One serialised record: which landing format it belongs to and its JSON line (no newline)."""

    kind: RecordKind
    line: bytes


def format_timestamp(when: dt.datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC; naive datetimes are refused, not guessed.

    A timestamp two or more UTC days ahead of today is refused: whichever day the landing file
    is named after, it would be quarantined as `future_timestamp` (a producer clock bug).
    """
    now = dt.datetime.now(dt.UTC)
    if when is None:
        when = now
    elif when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"timestamp must be timezone-aware, got naive {when!r}")
    utc = when.astimezone(dt.UTC)
    if (utc.date() - now.date()).days >= 2:
        raise ValueError(f"timestamp {utc.isoformat()} is 2 or more days in the future")
    # isoformat, unlike strftime("%Y"), always writes four year digits.
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def check_name(what: str, value: object) -> str:
    """A non-empty, non-blank string (the pipeline quarantines blank ones as `empty_event`)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def check_number(what: str, value: object) -> int | float:
    """A finite int or float; bool is refused because JSON writes it as true/false."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def check_tags(tags: Mapping[str, Any] | None) -> dict[str, TagValue]:
    """String keys and scalar values (strings, bools, finite numbers): what group-bys can use."""
    checked: dict[str, TagValue] = {}
    for key, value in (tags or {}).items():
        check_name("tag name", key)
        if not isinstance(value, str | bool):
            check_number(f"tag {key!r}", value)
        checked[key] = value
    return checked


def _check_payload(payload: Mapping[str, Any]) -> None:
    """Keys are strings and `latency_ms`, the one typed payload field, is a number >= 0 or null."""
    for key in payload:
        if not isinstance(key, str):
            raise ValueError(f"payload keys must be strings, got {key!r}")
    latency = payload.get("latency_ms")
    if latency is not None and check_number("latency_ms", latency) < 0:
        raise ValueError(f"latency_ms must be >= 0, got {latency!r}")


def _dump(kind: RecordKind, obj: dict[str, Any]) -> Record:
    """Strict JSON: NaN/inf anywhere in a payload and non-JSON values raise ValueError."""
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"record is not strict JSON: {exc}") from exc
    return Record(kind, text.encode("utf-8"))


def metric_sample(
    name: str,
    value: float,
    service: str,
    tags: Mapping[str, TagValue],
    timestamp: dt.datetime | None = None,
) -> Record:
    """Format C: `{"timestamp", "service", "metric_type", "value", "tags"?}`."""
    obj: dict[str, Any] = {
        "timestamp": format_timestamp(timestamp),
        "service": check_name("service", service),
        "metric_type": check_name("metric name", name),
        "value": check_number(f"value of {name!r}", value),
    }
    if tags:
        # The pipeline turns tags into the payload; a tag must not smuggle in a bad latency.
        _check_payload(tags)
        obj["tags"] = dict(tags)
    return _dump("metrics", obj)


def event_record(
    channel: str,
    event: str,
    payload: Mapping[str, Any],
    timestamp: dt.datetime | None = None,
) -> Record:
    """Format A, `telemetry_event_v1`: schema_version, channel, event, timestamp, payload."""
    _check_payload(payload)
    obj = {
        "schema_version": SCHEMA_VERSION,
        "channel": check_name("channel", channel),
        "event": check_name("event", event),
        "timestamp": format_timestamp(timestamp),
        "payload": dict(payload),
    }
    return _dump("events", obj)


def log_record(
    level: Severity,
    message: str,
    service: str,
    context: Mapping[str, Any],
    timestamp: dt.datetime | None = None,
) -> Record:
    """Format D: `{"ts", "service", "level", "message", "context"?}`, level upper-cased."""
    if not isinstance(message, str):
        raise ValueError(f"log message must be a string, got {message!r}")
    obj: dict[str, Any] = {
        "ts": format_timestamp(timestamp),
        "service": check_name("service", service),
        "level": level.value.upper(),
        "message": message,
    }
    if context:
        _check_payload(context)
        obj["context"] = dict(context)
    return _dump("logs", obj)
