"""Request bodies of the ingest routes: limits, JSON array or NDJSON, one landing line each.

A body is refused as a whole (nothing written) when the request itself is wrong: wrong content
type, too big, not JSON, too many records. Everything that parses as JSON is a record and is
landed, valid or not: judging records is the pipeline's gate's job.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Request

from telemetry_assets.api.errors import ApiError

JSON = "application/json"
NDJSON = "application/x-ndjson"
MEDIA_TYPES = (JSON, NDJSON)


def media_type(request: Request) -> str:
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"content type {declared or '(none)'!r} is not accepted; send {JSON} or {NDJSON}",
        )
    return media


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to exceed `max_bytes` (never buffered whole)."""
    too_big = ApiError(413, "body_too_large", f"request body exceeds {max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(data: bytes) -> Any:
    """RFC 8259 JSON; integers beyond 64 bits (which orjson refuses) are valid JSON too."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, parse_constant=_reject_constant)


def parse_records(body: bytes, media: str, max_records: int) -> list[Any]:
    """The records of a JSON array (or lone object) or NDJSON body."""
    if media == JSON:
        try:
            value = _loads(body)
        except (ValueError, RecursionError) as error:
            raise ApiError(400, "invalid_body", f"body is not JSON: {error}") from None
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise ApiError(400, "invalid_body", "a JSON body must be an array of records")
        records = value
    else:
        records = []
        for number, line in enumerate(body.split(b"\n"), start=1):
            if not line.strip(b" \t\r"):
                continue
            try:
                records.append(_loads(line))
            except (ValueError, RecursionError) as error:
                raise ApiError(
                    400, "invalid_body", f"NDJSON line {number} is not JSON: {error}"
                ) from None
            if len(records) > max_records:
                break
    if len(records) > max_records:
        raise ApiError(
            413, "too_many_records", f"a request may carry at most {max_records} records"
        )
    return records


def encode(record: Any) -> bytes:
    """One landing line (without its newline)."""
    try:
        return orjson.dumps(record)
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


# TelemetryHub's metric sample keys and their format C names (DESIGN §4)
_HUB_TO_C = {"ts": "timestamp", "metric": "metric_type", "labels": "tags"}


def as_metric_sample(record: Any) -> Any:
    """TelemetryHub's `{service, metric, value, ts, labels}` as a format C sample (absent keys
    stay absent so the gate names them); any other record is landed as sent."""
    if not isinstance(record, dict) or "metric" not in record or "metric_type" in record:
        return record
    return {_HUB_TO_C.get(key, key): value for key, value in record.items()}
