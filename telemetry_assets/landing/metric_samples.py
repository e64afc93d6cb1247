"""Format C: metric samples `{timestamp, service, metric_type, value, tags?}`.

Channel `metric`, event = metric_type, payload = tags + `{service, value}`, plus
`latency_ms = value` when metric_type is `latency`, so latency samples feed the service
latency tables like any other event with a service and a latency.
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

TYPE_DEFAULTS = {
    **ENVELOPE_TYPES,
    "service_type": JsonType.STRING.value,
    "value_type": JsonType.NUMBER.value,
    "tags_type": JsonType.ABSENT.value,
}


def _map_sample(rows: CandidateRows, obj: dict[str, Any]) -> None:
    get = obj.get
    metric_type = get("metric_type", ABSENT)
    service = get("service", ABSENT)
    value = get("value", ABSENT)
    tags = get("tags", ABSENT)
    payload = dict(tags) if type(tags) is dict else {}
    payload["service"] = None if service is ABSENT else service
    payload["value"] = None if value is ABSENT else value
    if metric_type == "latency":
        payload["latency_ms"] = payload["value"]
    mapped = {
        "schema_version": V1,
        "channel": "metric",
        "event": None if metric_type is ABSENT else metric_type,
        "timestamp": get("timestamp"),
        "payload": payload,
    }
    types = {
        **TYPE_DEFAULTS,
        "event_type": json_type(metric_type),
        "timestamp_type": json_type(get("timestamp", ABSENT)),
        "service_type": json_type(service),
        "value_type": json_type(value),
        "tags_type": json_type(tags),
    }
    rows.mapped(mapped, types)


def decode_metric_samples(lines: FileLines) -> pl.DataFrame:
    """Candidate rows of metric samples, one per record, in line order."""
    return decode_objects(FileFormat.METRICS, lines, TYPE_DEFAULTS, _map_sample)
