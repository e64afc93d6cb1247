"""The three landing formats, each mapped onto a `telemetry_event_v1` record.

Every record becomes one candidate row (see `schemas.candidates`): either a parse failure
(`invalid_json`, `truncated_line`, `bad_column_count`) or the mapped record with the JSON type
each checked field had as written, its canonical payload and its event identity. Deciding
validity is the gate's job, not the reader's.

Two paths give the same rows. The exact path handles any line, one Python iteration per record.
Most format A data is regular (the five envelope keys with their contract types, payload keys
a string or an integer, latency a number), and for that the block path (`decode_event_block`)
hands a whole block of lines to msgspec: typed decoding checks the shape, one sorted encode
gives every canonical record, and Polars reads the fields back from those. A block (or group
of lines) that does not decode as regular, and any record whose canonical text msgspec would
write differently from `canonical_json`, goes through the exact path instead.
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
from msgspec import UNSET, UnsetType

from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import Block, FileLines
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
_SORTED_ENCODER = msgspec.json.Encoder(order="sorted")
_FAST_CANONICAL = _SORTED_ENCODER.encode
_POSITIVE_EXPONENT = r"[:,\[]-?\d+(?:\.\d+)?e\d+[,}\]]"
# ... and integers orjson may read as floats (past 64 bits), which msgspec keeps whole.
_NOT_AS_ORJSON = r"[:,\[]-?(?:\d+(?:\.\d+)?e\d+|\d{19,})[,}\]]"
# Characters msgspec escapes in a string; envelope strings without them encode as "<text>".
_ESCAPED = r'["\\\x00-\x1f]'
DECODE_CHUNK = 65_536  # records decoded at once on the exact path: bounds live Python objects
REGULAR_GROUP = 4_096  # lines tried together on the block path once a whole block was not regular
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


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """The regular v1 record: exactly the five envelope keys, each of its contract type."""

    schema_version: str
    channel: str
    event: str
    timestamp: str
    payload: dict[str, Any]


_Key = str | int | None | UnsetType


class _PayloadKeys(msgspec.Struct):
    """The payload keys the pipeline reads, in the types that map without a judgement."""

    user_id: _Key = UNSET
    session_id: _Key = UNSET
    feature_id: _Key = UNSET
    service: _Key = UNSET
    latency_ms: float | UnsetType | None = UNSET


class _KeysView(msgspec.Struct):
    payload: _PayloadKeys


_REGULAR = msgspec.json.Decoder(_Envelope)
_KEYS = msgspec.json.Decoder(_KeysView)
_NOT_REGULAR = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
# The canonical record, as Polars reads it back (integers in key fields become decimal text).
_CANONICAL_FIELDS = pl.Schema(
    {
        "channel": pl.String,
        "event": pl.String,
        "payload": pl.Struct({**dict.fromkeys(KEY_FIELDS, pl.String), "latency_ms": pl.Float64}),
        "schema_version": pl.String,
        "timestamp": pl.String,
    }
)
# Fixed text around the envelope values in a canonical record, to cut the payload out of it.
_BEFORE_PAYLOAD = len('{"channel":"","event":"","payload":')
_AFTER_PAYLOAD_TEXT = len(',"schema_version":"","timestamp":""}')


def decode_event_block(block: Block) -> pl.DataFrame:
    """Format A, a block at a time: the whole block as regular records when it is one,
    otherwise groups of lines, and the exact path for the groups that are not regular."""
    buffer = block.json_lines()
    if buffer:
        numbers = pl.int_range(block.first_line, block.first_line + block.line_count, eager=True)
        frame = _regular_frame(buffer, numbers)
        if frame is not None:
            return frame
    frames = []
    for chunk in block.records.chunks(DECODE_CHUNK):
        frames.extend(_decode_groups(chunk))
    return pl.concat(frames)


def _decode_groups(lines: FileLines) -> Iterator[pl.DataFrame]:
    for group in lines.chunks(REGULAR_GROUP):
        buffer = b"\n".join(group.lines)
        frame = None if b"\r" in buffer else _regular_frame(buffer, pl.Series(group.numbers))
        yield decode_events(group) if frame is None else frame


def _regular_frame(buffer: bytes, numbers: pl.Series) -> pl.DataFrame | None:
    """Candidate rows of a JSON Lines buffer whose every line is one regular record (None when
    one is not). A line with no value would need a CR or a blank line, which the callers rule out,
    so the record count equal to the line count means one value per line."""
    with _no_cyclic_gc():
        try:
            envelopes = _REGULAR.decode_lines(buffer)
            keys = _KEYS.decode_lines(buffer)
        except _NOT_REGULAR:
            return None
        if len(envelopes) != len(numbers):
            return None
        canonical = _SORTED_ENCODER.encode_lines(envelopes)
        latency_absent = pl.Series(
            [view.payload.latency_ms is UNSET for view in keys], dtype=pl.Boolean
        )
        del envelopes, keys
    records = canonical.split(b"\n")
    records.pop()
    sha256 = hashlib.sha256
    fields = pl.read_ndjson(canonical, schema=_CANONICAL_FIELDS).unnest("payload")
    frame = fields.with_columns(
        source_line=numbers.cast(pl.Int64),
        raw=pl.Series(buffer.split(b"\n")[: len(records)], dtype=pl.Binary),
        event_id=pl.Series([sha256(record).hexdigest() for record in records], dtype=pl.String),
        record=pl.Series(records, dtype=pl.Binary).cast(pl.String),
        latency_absent=latency_absent,
    ).with_columns(_REGULAR_COLUMNS)
    return _exact_where_needed(frame, canonical)


def _latency_type() -> pl.Expr:
    return (
        pl.when(pl.col("latency_ms").is_not_null())
        .then(pl.lit(_NUMBER))
        .when(pl.col("latency_absent"))
        .then(pl.lit(_ABSENT_TAG))
        .otherwise(pl.lit(JsonType.NULL.value))
    )


def _payload_text() -> pl.Expr:
    """The payload's canonical text, cut from the canonical record by the envelope strings'
    lengths (exact when none of them needs an escape; the rows where one does are redone)."""
    start = _BEFORE_PAYLOAD + pl.col("channel").str.len_chars() + pl.col("event").str.len_chars()
    tail = (
        _AFTER_PAYLOAD_TEXT
        + pl.col("schema_version").str.len_chars()
        + pl.col("timestamp").str.len_chars()
    )
    return pl.col("record").str.slice(start, pl.col("record").str.len_chars() - start - tail)


# What every regular record has in common, and the keys as the contract reads them ("" is none).
_REGULAR_COLUMNS = [
    _payload_text().alias("payload"),
    _latency_type().alias("latency_type"),
    *(pl.when(pl.col(key) != "").then(pl.col(key)).alias(key) for key in KEY_FIELDS),
    pl.lit(FileFormat.EVENTS.value).alias("format"),
    *(pl.lit(_STRING).alias(f"{name}_type") for name in STRING_FIELDS),
    pl.lit(_OBJECT).alias("payload_type"),
    *(
        pl.lit(None, dtype=pl.String).alias(name)
        for name in ("parse_error", "parse_detail", "service_type", "value_type", "tags_type")
    ),
]


def _exact_where_needed(frame: pl.DataFrame, canonical: bytes) -> pl.DataFrame:
    """Decode again on the exact path the rows the block path cannot vouch for: a number
    msgspec writes or reads unlike orjson (numbers only occur in the payload), or an envelope
    string with an escape (only looked for when the block has a backslash at all)."""
    checks = [pl.col("payload").str.contains(_NOT_AS_ORJSON)]
    if b"\\" in canonical:
        checks.extend(pl.col(name).str.contains(_ESCAPED) for name in STRING_FIELDS)
    kept = frame.select(CANDIDATE_SCHEMA.names())
    needs = frame.select(pl.arg_where(pl.any_horizontal(checks))).to_series()
    if needs.is_empty():
        return kept
    exact = decode_events(
        FileLines(
            kept.get_column("source_line").gather(needs).to_list(),
            kept.get_column("raw").gather(needs).to_list(),
        )
    )
    rest = kept.filter(~pl.int_range(pl.len()).is_in(needs.implode()))
    return pl.concat([rest, exact]).sort("source_line")


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


# Lines may exceed 1 MiB, so one cell may too; the csv module's default cap (128 KiB) would
# turn a long but well-formed row into a parse failure. The whole line is in memory already.
csv.field_size_limit(2**31 - 1)


def _csv_cells(text: str, strict: bool = True) -> list[str]:
    """The cells of one CSV line, where a carriage return is an ordinary character.

    Lines split on `\\n` only, but the csv module ends a row at a bare `\\r`, and raises when
    one sits in an unquoted cell; a stand-in character absent from the line carries it through.
    """
    if "\r" not in text:
        return next(csv.reader([text], strict=strict), [])
    stand_in = next(chr(c) for c in range(0xE000, 0x110000) if chr(c) not in text)
    cells = _csv_cells(text.replace("\r", stand_in), strict)
    return [cell.replace(stand_in, "\r") for cell in cells]


def _csv_number(cell: str) -> int | float | None:
    if not _DECIMAL.fullmatch(cell):
        return None
    return float(cell) if "." in cell else int(cell)


def decode_product_analytics(lines: FileLines) -> Columns:
    """Format B: CSV rows matched to the header by column name (the header is not a record)."""
    columns = Columns(
        FileFormat.PRODUCT_ANALYTICS, lines, (_STRING,) * 4 + (_OBJECT, None, None, None)
    )
    # The header is not a record, so it cannot be quarantined: read it leniently, and let a
    # garbled header show up as rows that fail (no `timestamp` column, or wrong field counts).
    header_text = (lines.header or b"").decode("utf-8", "replace")
    header = [name.strip() for name in _csv_cells(header_text, strict=False)]
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


def decode_block(fmt: FileFormat, block: Block) -> pl.DataFrame:
    """Candidate rows of a block of a landing file, in line order."""
    if fmt is FileFormat.EVENTS:
        return decode_event_block(block)
    return pl.concat([decode(fmt, chunk) for chunk in block.records.chunks(DECODE_CHUNK)])
