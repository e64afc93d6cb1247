"""Candidate rows of one run of lines, filled record by record in line order.

Every reader turns a record into one candidate row (see `schemas.candidates`): either a parse
failure (`invalid_json`, `truncated_line`, `bad_column_count`) or the mapped v1 record with the
JSON type each checked field had as written, its canonical payload and its event identity.
Deciding validity is the gate's job, not the reader's.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import orjson
import polars as pl

from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import (
    ABSENT,
    as_float,
    canonical_json,
    json_type,
    key_text,
    parse_line,
)
from telemetry_assets.landing.lines import FileLines
from telemetry_assets.schemas.candidates import CANDIDATE_SCHEMA, TYPED_FIELDS, JsonType
from telemetry_assets.schemas.reasons import Reason

STRING_FIELDS = ("schema_version", "channel", "event", "timestamp")
KEY_FIELDS = ("user_id", "session_id", "feature_id", "service")
# Type columns a reader states per record; the latency type is read from the mapped payload.
TYPE_COLUMNS = tuple(column for column, _ in TYPED_FIELDS if column != "latency_type")
DENSE = (*STRING_FIELDS, "latency_type", "latency_ms", *KEY_FIELDS, "payload", "event_id")
NUMBER = JsonType.NUMBER.value

TypeTags = Mapping[str, str | None]
# Every format maps onto a v1 envelope of these types (format A as written, B-D by mapping).
ENVELOPE_TYPES: dict[str, str | None] = {
    "schema_version_type": JsonType.STRING.value,
    "channel_type": JsonType.STRING.value,
    "event_type": JsonType.STRING.value,
    "timestamp_type": JsonType.STRING.value,
    "payload_type": JsonType.OBJECT.value,
}
_NO_ROWS = pl.DataFrame(schema=CANDIDATE_SCHEMA)


class RecordError(RuntimeError):
    """A record broke the reader itself: a bug, reported with the line it happened on."""

    def __init__(self, line: int, error: BaseException):
        super().__init__(f"line {line}: {type(error).__name__}: {error}")
        self.line = line


class CandidateRows:
    """Candidate columns of one run of lines.

    Type tags, format and parse errors are the same for almost every row of a file, so they
    are kept as a per-format default (`type_defaults`, keyed by type column; a column a format
    does not have is None) plus a map of the rows that differ.
    """

    def __init__(self, fmt: FileFormat, lines: FileLines, type_defaults: TypeTags):
        unknown = set(type_defaults) - set(TYPE_COLUMNS)
        if unknown:
            raise ValueError(f"not type columns: {sorted(unknown)}")
        self.fmt = fmt
        self.lines = lines
        self.dense: dict[str, list[Any]] = {name: [] for name in DENSE}
        self.defaults: dict[str, str | None] = {
            "parse_error": None,
            "parse_detail": None,
            **{column: type_defaults.get(column) for column in TYPE_COLUMNS},
        }
        self.exceptions: dict[str, dict[int, str | None]] = {k: {} for k in self.defaults}

    def __len__(self) -> int:
        return len(self.dense["event_id"])

    def failed(self, reason: Reason, detail: str) -> None:
        row = len(self)
        self.exceptions["parse_error"][row] = reason.value
        self.exceptions["parse_detail"][row] = detail
        for column in TYPE_COLUMNS:
            if self.defaults[column] is not None:
                self.exceptions[column][row] = None
        for values in self.dense.values():
            values.append(None)

    def mapped(self, mapped: dict[str, Any], types: TypeTags) -> None:
        """A mapped v1 record of any shape, with the JSON types of its checked fields."""
        row = len(self)
        for column in TYPE_COLUMNS:
            kind = types.get(column)
            if kind != self.defaults[column]:
                self.exceptions[column][row] = kind
        payload = mapped.get("payload")
        payload_text = canonical_json(payload) if type(payload) is dict else None
        self.append_fields(mapped, payload_text, canonical_json(mapped))

    def append_fields(
        self, mapped: dict[str, Any], payload_text: bytes | None, canonical: bytes
    ) -> None:
        """The typed fields of a record whose canonical texts are already known."""
        dense = self.dense
        for name in STRING_FIELDS:
            value = mapped.get(name)
            dense[name].append(value if type(value) is str else None)
        payload = mapped.get("payload")
        if type(payload) is dict:
            latency = payload.get("latency_ms", ABSENT)
            kind = json_type(latency)
            dense["latency_type"].append(kind)
            dense["latency_ms"].append(as_float(latency) if kind == NUMBER else None)
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
            "format": constant_column(self.fmt.value, rows),
            "raw": pl.Series(self.lines.lines, dtype=pl.Binary),
            "payload": pl.Series(self.dense.pop("payload"), dtype=pl.Binary).cast(pl.String),
        }
        for name, values in self.dense.items():
            series[name] = pl.Series(values, dtype=CANDIDATE_SCHEMA[name])
        for name, default in self.defaults.items():
            column = constant_column(default, rows)
            changed = self.exceptions[name]
            if changed:
                column = column.scatter(
                    list(changed), pl.Series(list(changed.values()), dtype=pl.String)
                )
            series[name] = column
        return pl.DataFrame([series[name].alias(name) for name in CANDIDATE_SCHEMA])


def constant_column(value: str | None, rows: int, name: str = "") -> pl.Series:
    """A string column holding one value, built without a query (a block of a small file
    would otherwise pay the query engine's start-up once per constant column)."""
    return _one_value(value, name).new_from_index(0, rows)


@cache
def _one_value(value: str | None, name: str) -> pl.Series:
    """The one-row column `constant_column` repeats (kept: building even one row costs more
    than repeating it; it is never handed out, so nothing can change it)."""
    return pl.Series(name, [value], dtype=pl.String)


def empty_candidates() -> pl.DataFrame:
    """No candidate rows (the empty block that ends most files)."""
    return _NO_ROWS.clear()


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Millions of short-lived acyclic dicts: the cyclic collector would only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def json_objects(rows: CandidateRows) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each record; lines that are not one JSON object are recorded
    as failures here, so the caller maps exactly one row for each object it is given."""
    last = rows.lines.unterminated_line
    for number, line in zip(rows.lines.numbers, rows.lines.lines, strict=True):
        try:
            value = parse_line(line)
        except orjson.JSONDecodeError as error:
            if number == last:
                rows.failed(Reason.TRUNCATED_LINE, f"last line, no newline: {error}")
            else:
                rows.failed(Reason.INVALID_JSON, str(error))
            continue
        if type(value) is dict:
            yield number, value
        else:
            rows.failed(Reason.INVALID_JSON, f"a JSON {json_type(value)}, not an object")


def decode_objects(
    fmt: FileFormat,
    lines: FileLines,
    type_defaults: TypeTags,
    map_object: Callable[[CandidateRows, dict[str, Any]], None],
) -> pl.DataFrame:
    """Candidate rows of a JSON Lines format whose objects `map_object` maps one by one; an
    exception while mapping is a reader bug, reported with its line."""
    rows = CandidateRows(fmt, lines, type_defaults)
    with no_cyclic_gc():
        for number, obj in json_objects(rows):
            try:
                map_object(rows, obj)
            except Exception as error:
                raise RecordError(number, error) from error
    return rows.frame()
