"""Small generators for landing files and records, so tests build exactly the data they need."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

V1 = "telemetry_event_v1"


def v1_record(
    event: str = "click",
    timestamp: str = "2025-03-01T10:00:00Z",
    channel: str = "user",
    payload: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": V1,
        "channel": channel,
        "event": event,
        "timestamp": timestamp,
        "payload": {"user_id": "u1"} if payload is None else payload,
    }
    record.update(overrides)
    return record


def metric_record(
    metric_type: str = "latency",
    value: Any = 12.5,
    service: Any = "api",
    timestamp: str = "2025-03-01T10:00:00Z",
    **overrides: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "timestamp": timestamp,
        "service": service,
        "metric_type": metric_type,
        "value": value,
    }
    record.update(overrides)
    return record


def jsonl(*records: dict[str, Any] | str | bytes, terminated: bool = True) -> bytes:
    """Records as JSON Lines; strings and bytes are written verbatim (for malformed lines)."""
    lines = []
    for record in records:
        if isinstance(record, bytes):
            lines.append(record)
        elif isinstance(record, str):
            lines.append(record.encode())
        else:
            lines.append(json.dumps(record, separators=(",", ":")).encode())
    body = b"\n".join(lines)
    return body + b"\n" if terminated and lines else body


def write_file(landing: Path, rel_path: str, content: bytes) -> Path:
    path = landing / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if rel_path.endswith(".gz") else content)
    return path
