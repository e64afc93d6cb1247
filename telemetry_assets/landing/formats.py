"""The three landing formats, each mapped onto a `telemetry_event_v1` record.

Every record becomes one candidate row (see `schemas.candidates`): either a parse failure
(`invalid_json`, `truncated_line`, `bad_column_count`) or the mapped record with the JSON type
each checked field had as written, its canonical payload and its event identity. Deciding
validity is the gate's job, not the reader's.

This is the hot loop of the pipeline (one Python iteration per record), so rows are collected
column-wise, columns that are nearly constant are stored as a default plus exceptions, and a
well-formed v1 record takes a short path that serialises it only once, with msgspec's sorted
encoder (in isolation ~3 µs per record cheaper than orjson's OPT_SORT_KEYS on this machine).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import orjson
import polars as pl

from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import FileLines
from telemetry_assets.schemas.candidates import CANDIDATE_SCHEMA, TYPED_FIELDS, JsonType
from telemetry_assets.schemas.reasons import Reason

V1 = "telemetry_event_v1"
ENVELOPE_KEYS = ("schema_version", "channel", "event", "timestamp", "payload")
STRING_FIELDS = ("schema_version", "channel", "event", "timestamp")
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
# msgspec's sorted encoder is several times faster than orjson's and writes the same bytes,
# except a float with a positive exponent (`1e20`, where orjson writes `1e+20`). This pattern
# finds such a number (or string content that looks like one) in an encoded payload.
_FAST_CANONICAL = msgspec.json.Encoder(order="sorted").encode
_POSITIVE_EXPONENT = r"[:,\[]-?\d+(?:\.\d+)?e\d+[,}\]]"
# In the canonical (sorted) v1 record the payload sits between these two keys.
_PAYLOAD_KEY, _AFTER_PAYLOAD = b',"payload":', b',"schema_version":'
_PAYLOAD_OFFSET = len(_PAYLOAD_KEY)
_TYPE_COLUMNS = tuple(column for column, _ in TYPED_FIELDS if column != "latency_type")
_DENSE = (*STRING_FIELDS, "latency_type", "latency_ms", *KEY_FIELDS, "payload", "event_id")


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


class Columns:
    """Candidate columns of one file, filled row by row in line order.

    Type tags, format and parse errors are the same for almost every row of a file, so they
    are kept as a per-format default plus a map of the rows that differ.
    """

    def __init__(self, fmt: FileFormat, lines: FileLines, type_defaults: tuple[str | None, ...]):
        self.fmt = fmt
        self.lines = lines
        self.dense: dict[str, list[Any]] = {name: [] for name in _DENSE}
        self.defaults: dict[str, str | None] = {
            "parse_error": None,
            "parse_detail": None,
            **dict(zip(_TYPE_COLUMNS, type_defaults, strict=True)),
        }
        self.exceptions: dict[str, dict[int, str | None]] = {k: {} for k in self.defaults}

    def __len__(self) -> int:
        return len(self.dense["event_id"])

    def failed(self, reason: Reason, detail: str) -> None:
        row = len(self)
        self.exceptions["parse_error"][row] = reason.value
        self.exceptions["parse_detail"][row] = detail
        for column in _TYPE_COLUMNS:
            if self.defaults[column] is not None:
                self.exceptions[column][row] = None
        for values in self.dense.values():
            values.append(None)

    def mapped(self, mapped: dict[str, Any], types: tuple[str | None, ...]) -> None:
        """A mapped v1 record of any shape, with the JSON types of its checked fields."""
        row = len(self)
        for column, kind in zip(_TYPE_COLUMNS, types, strict=True):
            if kind != self.defaults[column]:
                self.exceptions[column][row] = kind
        canonical = canonical_json(mapped)
        payload = mapped.get("payload")
        payload_text = canonical_json(payload) if type(payload) is dict else None
        self._append(mapped, payload, payload_text, canonical)

    def _append(
        self, mapped: dict[str, Any], payload: Any, payload_text: bytes | None, canonical: bytes
    ) -> None:
        dense = self.dense
        for name in STRING_FIELDS:
            value = mapped.get(name)
            dense[name].append(value if type(value) is str else None)
        if type(payload) is dict:
            latency = payload.get("latency_ms", _ABSENT)
            kind = json_type(latency)
            dense["latency_type"].append(kind)
            dense["latency_ms"].append(float(latency) if kind == _NUMBER else None)
            for name in KEY_FIELDS:
                dense[name].append(key_text(payload.get(name)))
        else:
            for name in ("latency_type", "latency_ms", *KEY_FIELDS):
                dense[name].append(None)
        dense["payload"].append(payload_text)
        dense["event_id"].append(hashlib.sha256(canonical).hexdigest())

    def frame(self) -> pl.DataFrame:
        rows = len(self)
        if rows != len(self.lines):
            raise AssertionError(f"{rows} candidate rows for {len(self.lines)} records")
        series = {
            "source_line": pl.Series(self.lines.numbers, dtype=pl.Int64),
            "format": pl.repeat(self.fmt.value, rows, dtype=pl.String, eager=True),
            "raw": pl.Series(self.lines.lines, dtype=pl.Binary),
            "payload": pl.Series(self.dense.pop("payload"), dtype=pl.Binary).cast(pl.String),
        }
        for name, values in self.dense.items():
            series[name] = pl.Series(values, dtype=CANDIDATE_SCHEMA[name])
        for name, default in self.defaults.items():
            column = pl.repeat(default, rows, dtype=pl.String, eager=True)
            changed = self.exceptions[name]
            if changed:
                column = column.scatter(
                    list(changed), pl.Series(list(changed.values()), dtype=pl.String)
                )
            series[name] = column
        return pl.DataFrame([series[name].alias(name) for name in CANDIDATE_SCHEMA])


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Millions of short-lived acyclic dicts: the cyclic collector would only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _objects(columns: Columns) -> Iterator[dict[str, Any]]:
    """Each record's JSON object; lines that are not one are recorded as failures here."""
    last = columns.lines.unterminated_line
    loads, error_type = orjson.loads, orjson.JSONDecodeError
    for number, line in zip(columns.lines.numbers, columns.lines.lines, strict=True):
        try:
            value = loads(line)
        except error_type as error:
            if number == last:
                columns.failed(Reason.TRUNCATED_LINE, f"last line, no newline: {error}")
            else:
                columns.failed(Reason.INVALID_JSON, str(error))
            continue
        if type(value) is dict:
            yield value
        else:
            columns.failed(Reason.INVALID_JSON, f"a JSON {json_type(value)}, not an object")


def decode_events(lines: FileLines) -> pl.DataFrame:
    """Format A: `telemetry_event_v1` objects, one per line."""
    columns = Columns(FileFormat.EVENTS, lines, (_STRING,) * 4 + (_OBJECT, None, None, None))
    exact_rows: set[int] = set()
    dense = columns.dense
    schema_versions, channels, events, stamps = (dense[n].append for n in STRING_FIELDS)
    latency_types, latencies = dense["latency_type"].append, dense["latency_ms"].append
    users, sessions, features, services = (dense[n].append for n in KEY_FIELDS)
    payloads, identities = dense["payload"].append, dense["event_id"].append
    encode, sha256, number_types = _FAST_CANONICAL, hashlib.sha256, (int, float)
    with _no_cyclic_gc():
        for obj in _objects(columns):
            get = obj.get
            payload = get("payload")
            version, channel, event, stamp = (
                get("schema_version"),
                get("channel"),
                get("event"),
                get("timestamp"),
            )
            if not (
                len(obj) == 5
                and type(payload) is dict
                and type(version) is str
                and type(channel) is str
                and type(event) is str
                and type(stamp) is str
            ):
                mapped = {key: obj[key] for key in ENVELOPE_KEYS if key in obj}
                types = tuple(json_type(get(key, _ABSENT)) for key in ENVELOPE_KEYS)
                exact_rows.add(len(columns))
                columns.mapped(mapped, (*types, None, None, None))
                continue
            # The regular shape: serialise once; the payload text is cut from the record's.
            canonical = encode(obj)
            start = canonical.index(_PAYLOAD_KEY) + _PAYLOAD_OFFSET
            payloads(canonical[start : canonical.rindex(_AFTER_PAYLOAD)])
            identities(sha256(canonical).hexdigest())
            schema_versions(version)
            channels(channel)
            events(event)
            stamps(stamp)
            latency = payload.get("latency_ms", _ABSENT)
            kind = type(latency)
            if kind in number_types:
                latency_types(_NUMBER)
                latencies(float(latency))
            else:
                latency_types(json_type(latency))
                latencies(None)
            users(key_text(payload.get("user_id")))
            sessions(key_text(payload.get("session_id")))
            features(key_text(payload.get("feature_id")))
            services(key_text(payload.get("service")))
    return _exponents_as_orjson(columns.frame(), exact_rows)


def _exponents_as_orjson(frame: pl.DataFrame, exact_rows: set[int]) -> pl.DataFrame:
    """Encode again, with `canonical_json`, the regular records whose payload may hold a float
    with a positive exponent (found by one vectorised regex; almost always none)."""
    found = frame.select(pl.arg_where(pl.col("payload").str.contains(_POSITIVE_EXPONENT)))
    rows = [row for row in found.to_series().to_list() if row not in exact_rows]
    if not rows:
        return frame
    records = [orjson.loads(raw) for raw in frame.get_column("raw").gather(rows)]
    payloads = [canonical_json(record["payload"]).decode() for record in records]
    ids = [hashlib.sha256(canonical_json(record)).hexdigest() for record in records]
    return frame.with_columns(
        frame.get_column("payload").scatter(rows, pl.Series(payloads, dtype=pl.String)),
        frame.get_column("event_id").scatter(rows, pl.Series(ids, dtype=pl.String)),
    )


def decode_metrics(lines: FileLines) -> Columns:
    """Format C: metric samples; payload = tags + {service, value} (+ latency_ms for latency)."""
    columns = Columns(
        FileFormat.METRICS,
        lines,
        (_STRING, _STRING, _STRING, _STRING, _OBJECT, _STRING, _NUMBER, _ABSENT_TAG),
    )
    with _no_cyclic_gc():
        for obj in _objects(columns):
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
            columns.mapped(mapped, types)
    return columns


def _csv_cells(text: str) -> list[str]:
    return next(csv.reader([text], strict=True), [])


def _csv_number(cell: str) -> int | float | None:
    if not _DECIMAL.fullmatch(cell):
        return None
    return float(cell) if "." in cell else int(cell)


def decode_product_analytics(lines: FileLines) -> Columns:
    """Format B: CSV rows matched to the header by column name (the header is not a record)."""
    columns = Columns(
        FileFormat.PRODUCT_ANALYTICS, lines, (_STRING,) * 4 + (_OBJECT, None, None, None)
    )
    header = [name.strip() for name in _csv_cells((lines.header or b"").decode("utf-8", "replace"))]
    last = lines.unterminated_line
    for number, line in zip(lines.numbers, lines.lines, strict=True):
        truncated = number == last
        try:
            cells = _csv_cells(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            columns.failed(Reason.TRUNCATED_LINE if truncated else Reason.INVALID_JSON, str(error))
            continue
        except csv.Error as error:
            reason = Reason.TRUNCATED_LINE if truncated else Reason.BAD_COLUMN_COUNT
            columns.failed(reason, f"malformed CSV quoting: {error}")
            continue
        if len(cells) != len(header):
            reason = Reason.TRUNCATED_LINE if truncated else Reason.BAD_COLUMN_COUNT
            columns.failed(reason, f"{len(cells)} fields, the header has {len(header)}")
            continue
        _product_row(columns, dict(zip(header, cells, strict=True)))
    return columns


def _product_row(columns: Columns, record: dict[str, str]) -> None:
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
    columns.mapped(mapped, (*types, None, None, None))


DECODERS: dict[FileFormat, Callable[[FileLines], pl.DataFrame]] = {
    FileFormat.EVENTS: decode_events,
    FileFormat.PRODUCT_ANALYTICS: lambda lines: decode_product_analytics(lines).frame(),
    FileFormat.METRICS: lambda lines: decode_metrics(lines).frame(),
}


def decode(fmt: FileFormat, lines: FileLines) -> pl.DataFrame:
    return DECODERS[fmt](lines)
