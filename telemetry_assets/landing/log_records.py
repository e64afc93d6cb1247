"""Format D: service log records `{ts, service, level, message, context?}` (TelemetryHub's
`POST /ingest/logs` body).

Channel `log`, event = the level upper-cased with its aliases resolved (`WARN` -> `WARNING`,
`FATAL` -> `CRITICAL`; any other non-empty level as is), payload = context + `{service,
message}`. A level that is empty or only whitespace stays so and fails as `empty_event`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from telemetry_assets.landing.candidate_rows import ENVELOPE_TYPES, CandidateRows, decode_objects
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import ABSENT, json_type
from telemetry_assets.landing.lines import FileLines
from telemetry_assets.schemas.candidates import JsonType
from telemetry_assets.schemas.versions import V1

LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
TYPE_DEFAULTS = {
    **ENVELOPE_TYPES,
    "service_type": JsonType.STRING.value,
    "message_type": JsonType.STRING.value,
    "context_type": JsonType.ABSENT.value,
}


def log_event(level: Any) -> Any:
    """The v1 event of a log level (a level that is not a string is passed on for the gate)."""
    if type(level) is not str:
        return level
    upper = level.upper()
    return LEVEL_ALIASES.get(upper, upper)


def _map_record(rows: CandidateRows, obj: dict[str, Any]) -> None:
    get = obj.get
    level = get("level", ABSENT)
    service = get("service", ABSENT)
    message = get("message", ABSENT)
    context = get("context", ABSENT)
    payload = dict(context) if type(context) is dict else {}
    payload["service"] = None if service is ABSENT else service
    payload["message"] = None if message is ABSENT else message
    mapped = {
        "schema_version": V1,
        "channel": "log",
        "event": None if level is ABSENT else log_event(level),
        "timestamp": get("ts"),
        "payload": payload,
    }
    types = {
        **TYPE_DEFAULTS,
        "event_type": json_type(level),
        "timestamp_type": json_type(get("ts", ABSENT)),
        "service_type": json_type(service),
        "message_type": json_type(message),
        "context_type": json_type(context),
    }
    rows.mapped(mapped, types)


def decode_log_records(lines: FileLines) -> pl.DataFrame:
    """Candidate rows of log records, one per record, in line order."""
    return decode_objects(FileFormat.LOGS, lines, TYPE_DEFAULTS, _map_record)
