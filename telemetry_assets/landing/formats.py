"""The three landing formats, each mapped onto a `telemetry_event_v1` record.

Every record becomes one candidate row (see `schemas.candidates`): either a parse failure
(`invalid_json`, `truncated_line`, `bad_column_count`) or the mapped record with the JSON type
each checked field had as written, its canonical payload and its event identity. Deciding
validity is the gate's job, not the reader's.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from typing import Any

import orjson
import polars as pl

from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import FileLines
from telemetry_assets.schemas.candidates import CANDIDATE_COLUMNS, CANDIDATE_SCHEMA, JsonType
from telemetry_assets.schemas.reasons import Reason

V1 = "telemetry_event_v1"
ENVELOPE_KEYS = ("schema_version", "channel", "event", "timestamp", "payload")
KEY_FIELDS = ("user_id", "session_id", "feature_id", "service")
CSV_DEFAULT_EVENT = "feature_used"

_ABSENT: Any = object()
_TYPE_NAMES: dict[type, str] = {
    str: JsonType.STRING.value,
    int: JsonType.NUMBER.value,
    float: JsonType.NUMBER.value,
    bool: JsonType.BOOLEAN.value,
    dict: JsonType.OBJECT.value,
    list: JsonType.ARRAY.value,
    type(None): JsonType.NULL.value,
}
_STRING = JsonType.STRING.value
_OBJECT = JsonType.OBJECT.value
_NUMBER = JsonType.NUMBER.value
_ABSENT_TAG = JsonType.ABSENT.value
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_SORTED = orjson.OPT_SORT_KEYS

Row = tuple[Any, ...]


def json_type(value: Any) -> str:
    return _ABSENT_TAG if value is _ABSENT else _TYPE_NAMES[type(value)]


def key_text(value: Any) -> str | None:
    """A key (user, feature, session, service): strings as is, JSON integers as decimal text."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int:
        return str(value)
    return None


def canonical_json(value: Any) -> bytes:
    """Keys sorted at every level, no insignificant whitespace, unicode unescaped."""
    return orjson.dumps(value, option=_SORTED)


def event_identity(mapped: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(mapped)).hexdigest()


def _failed_row(number: int, fmt: str, error: Reason, detail: str, raw: bytes) -> Row:
    return (number, fmt, error.value, detail, raw, *([None] * (len(CANDIDATE_COLUMNS) - 5)))


def _mapped_row(
    number: int,
    fmt: str,
    raw: bytes,
    mapped: dict[str, Any],
    types: tuple[str | None, ...],
) -> Row:
    """One candidate row from a mapped v1 record and the JSON types of its checked fields.

    `types` follows `TYPED_FIELDS` minus the latency type, which is read from the payload here.
    """
    payload = mapped.get("payload")
    if type(payload) is dict:
        keys = [key_text(payload.get(name)) for name in KEY_FIELDS]
        latency = payload.get("latency_ms", _ABSENT)
        latency_type = json_type(latency)
        latency_ms = float(latency) if latency_type == _NUMBER else None
        payload_text = canonical_json(payload).decode()
    else:
        keys = [None] * len(KEY_FIELDS)
        latency_type = latency_ms = payload_text = None
    return (
        number,
        fmt,
        None,
        None,
        raw,
        *(
            value if type(value := mapped.get(name)) is str else None
            for name in ("schema_version", "channel", "event", "timestamp")
        ),
        *types,
        latency_type,
        latency_ms,
        *keys,
        payload_text,
        event_identity(mapped),
    )


def _parse_object(number: int, line: bytes, unterminated: bool, fmt: str) -> dict | Row:
    """The JSON object on a line, or the failed row saying why it is not one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        if unterminated:
            return _failed_row(
                number, fmt, Reason.TRUNCATED_LINE, f"last line, no newline: {error}", line
            )
        return _failed_row(number, fmt, Reason.INVALID_JSON, str(error), line)
    if type(value) is not dict:
        return _failed_row(
            number, fmt, Reason.INVALID_JSON, f"a JSON {json_type(value)}, not an object", line
        )
    return value


def decode_events(lines: FileLines) -> list[Row]:
    """Format A: `telemetry_event_v1` objects, one per line."""
    fmt = FileFormat.EVENTS.value
    rows: list[Row] = []
    last = lines.unterminated_line
    for number, line in zip(lines.numbers, lines.lines, strict=True):
        obj = _parse_object(number, line, number == last, fmt)
        if type(obj) is tuple:
            rows.append(obj)
            continue
        get = obj.get
        mapped = {key: obj[key] for key in ENVELOPE_KEYS if key in obj}
        types = (
            json_type(get("schema_version", _ABSENT)),
            json_type(get("channel", _ABSENT)),
            json_type(get("event", _ABSENT)),
            json_type(get("timestamp", _ABSENT)),
            json_type(get("payload", _ABSENT)),
            None,
            None,
            None,
        )
        rows.append(_mapped_row(number, fmt, line, mapped, types))
    return rows


def decode_metrics(lines: FileLines) -> list[Row]:
    """Format C: metric samples; payload = tags + {service, value} (+ latency_ms for latency)."""
    fmt = FileFormat.METRICS.value
    rows: list[Row] = []
    last = lines.unterminated_line
    for number, line in zip(lines.numbers, lines.lines, strict=True):
        obj = _parse_object(number, line, number == last, fmt)
        if type(obj) is tuple:
            rows.append(obj)
            continue
        get = obj.get
        metric_type = get("metric_type", _ABSENT)
        service = get("service", _ABSENT)
        value = get("value", _ABSENT)
        tags = get("tags", _ABSENT)
        payload = dict(tags) if type(tags) is dict else {}
        payload["service"] = None if service is _ABSENT else service
        payload["value"] = None if value is _ABSENT else value
        if metric_type == "latency":
            payload["latency_ms"] = payload["value"]
        mapped = {
            "schema_version": V1,
            "channel": "metric",
            "event": None if metric_type is _ABSENT else metric_type,
            "timestamp": get("timestamp"),
            "payload": payload,
        }
        types = (
            _STRING,
            _STRING,
            json_type(metric_type),
            json_type(get("timestamp", _ABSENT)),
            _OBJECT,
            json_type(service),
            json_type(value),
            json_type(tags),
        )
        rows.append(_mapped_row(number, fmt, line, mapped, types))
    return rows


def _csv_cells(text: str) -> list[str]:
    return next(csv.reader([text], strict=True), [])


def _csv_number(cell: str) -> int | float | None:
    if not _DECIMAL.fullmatch(cell):
        return None
    return float(cell) if "." in cell else int(cell)


def decode_product_analytics(lines: FileLines) -> list[Row]:
    """Format B: CSV rows matched to the header by column name (the header is not a record)."""
    fmt = FileFormat.PRODUCT_ANALYTICS.value
    rows: list[Row] = []
    header_text = (lines.header or b"").decode("utf-8", "replace")
    header = [name.strip() for name in _csv_cells(header_text)]
    last = lines.unterminated_line
    for number, line in zip(lines.numbers, lines.lines, strict=True):
        failure = Reason.TRUNCATED_LINE if number == last else None
        try:
            cells = _csv_cells(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            rows.append(_failed_row(number, fmt, failure or Reason.INVALID_JSON, str(error), line))
            continue
        except csv.Error as error:
            detail = f"malformed CSV quoting: {error}"
            rows.append(_failed_row(number, fmt, failure or Reason.BAD_COLUMN_COUNT, detail, line))
            continue
        if len(cells) != len(header):
            detail = f"{len(cells)} fields, the header has {len(header)}"
            rows.append(_failed_row(number, fmt, failure or Reason.BAD_COLUMN_COUNT, detail, line))
            continue
        rows.append(_product_row(number, fmt, line, dict(zip(header, cells, strict=True))))
    return rows


def _product_row(number: int, fmt: str, raw: bytes, record: dict[str, str]) -> Row:
    timestamp = record.get("timestamp", "")
    payload: dict[str, Any] = {}
    for column, cell in record.items():
        if column in ("timestamp", "event") or cell == "":
            continue
        if column == "latency_ms":
            number_value = _csv_number(cell)
            payload[column] = cell if number_value is None else number_value
        else:
            payload[column] = cell
    mapped = {
        "schema_version": V1,
        "channel": "user",
        "event": record.get("event") or CSV_DEFAULT_EVENT,
        "timestamp": timestamp or None,
        "payload": payload,
    }
    types = (_STRING, _STRING, _STRING, _STRING if timestamp else _ABSENT_TAG, _OBJECT)
    return _mapped_row(number, fmt, raw, mapped, (*types, None, None, None))


DECODERS: dict[FileFormat, Callable[[FileLines], list[Row]]] = {
    FileFormat.EVENTS: decode_events,
    FileFormat.PRODUCT_ANALYTICS: decode_product_analytics,
    FileFormat.METRICS: decode_metrics,
}


def candidates_frame(rows: list[Row]) -> pl.DataFrame:
    """Rows (in `CANDIDATE_COLUMNS` order) as a typed frame."""
    if not rows:
        return CANDIDATE_SCHEMA.to_frame()
    columns = zip(*rows, strict=True)
    return pl.DataFrame(
        [
            pl.Series(name, values, dtype=dtype)
            for (name, dtype), values in zip(CANDIDATE_SCHEMA.items(), columns, strict=True)
        ]
    )


def decode(fmt: FileFormat, lines: FileLines) -> pl.DataFrame:
    return candidates_frame(DECODERS[fmt](lines))
