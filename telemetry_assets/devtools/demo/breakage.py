"""The deliberately broken lines: each fails exactly one rule of the landing contract.

Every reason code occurs every day, and a reason's variants rotate day by day, so the
quarantine by reason is known without reading the files back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from .csv_records import csv_row, csv_text
from .metric_records import metric_sample
from .model import UNTERMINATED_METRICS_HOUR, Day, Line, Quarantined
from .records import any_stamp, event_record, random_instant, render

_ABSENT: Any = object()

_Break = Callable[[Day, dict[str, Any], dt.datetime], bytes]


def _set_field(path: tuple[str, ...], value: Any) -> _Break:
    """A break that sets (or, with _ABSENT, removes) one field of an otherwise valid record."""

    def apply(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
        target = record
        for key in path[:-1]:
            target = target[key]
        if value is _ABSENT:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return render(record, ctx.rng)

    return apply


def _shifted(days: int) -> _Break:
    """A break that moves the timestamp by whole days (future_timestamp, too_late)."""

    def apply(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
        record["timestamp"] = any_stamp(ctx.rng, instant + dt.timedelta(days=days))
        return render(record, ctx.rng)

    return apply


def _invalid_timestamp(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    day, clock = ctx.day, f"{instant:%H:%M:%S}"
    record["timestamp"] = ctx.variant(
        (
            f"{day.year}-02-30T{clock}Z",
            f"{day}T24:{instant:%M:%S}Z",
            f"{day} {clock}Z",
            f"{day}T{clock}.1234567890Z",
            f"{day}T{clock}+0200",
            f"{day}T{clock}z",
        )
    )
    return render(record, ctx.rng)


def _trailing_comma(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return render(record, ctx.rng)[:-1] + b",}"


def _single_quotes(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return json.dumps(record).replace('"', "'").encode()


def _nan_latency(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    record["payload"]["latency_ms"] = float("nan")
    return json.dumps(record).encode()


def _two_objects(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    line = render(record, ctx.rng)
    return line + b" " + line


def _not_utf8(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    """A Latin-1 writer: the é of the page becomes the single byte 0xE9."""
    record["payload"]["page"] = "/es/café"
    return json.dumps(record, ensure_ascii=False).encode().replace("é".encode(), b"\xe9")


def _json_array(ctx: Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return b"[" + render(record, ctx.rng) + b"]"


_LATENCY = ("payload", "latency_ms")
# Every reason code of format A once per day; a reason's variants rotate day by day.
_BROKEN_EVENTS: tuple[tuple[str, tuple[_Break, ...]], ...] = (
    ("invalid_json", (_trailing_comma, _single_quotes, _nan_latency, _two_objects)),
    ("invalid_json", (_not_utf8,)),
    ("invalid_json", (_json_array,)),
    (
        "missing_field",
        (
            _set_field(("timestamp",), _ABSENT),
            _set_field(("payload",), _ABSENT),
            _set_field(("channel",), None),
            _set_field(("event",), _ABSENT),
            _set_field(("schema_version",), _ABSENT),
        ),
    ),
    (
        "wrong_type",
        (
            _set_field(("channel",), 42),
            _set_field(("payload",), ["search"]),
            _set_field(("timestamp",), 1740823200),
            _set_field(("event",), True),
            _set_field(("schema_version",), 1),
        ),
    ),
    (
        "unknown_schema_version",
        (
            _set_field(("schema_version",), "telemetry_event_v2"),
            _set_field(("schema_version",), "telemetry_event_V1"),
        ),
    ),
    ("empty_event", (_set_field(("event",), ""), _set_field(("event",), "   "))),
    ("invalid_timestamp", (_invalid_timestamp,)),
    ("future_timestamp", (_shifted(2), _shifted(40))),
    ("too_late", (_shifted(-3), _shifted(-9))),
    ("negative_latency", (_set_field(_LATENCY, -4.2), _set_field(_LATENCY, -1))),
    (
        "invalid_latency",
        (
            _set_field(_LATENCY, "fast"),
            _set_field(_LATENCY, "12ms"),
            _set_field(_LATENCY, ""),
            _set_field(_LATENCY, True),
        ),
    ),
)
_METRIC_BREAKS: tuple[tuple[str, _Break], ...] = (
    ("wrong_type", _set_field(("value",), "0.42")),
    ("missing_field", _set_field(("service",), _ABSENT)),
    ("empty_event", _set_field(("metric_type",), "  ")),
    ("wrong_type", _set_field(("tags",), ["eu-west-1"])),
    ("negative_latency", _set_field(("value",), -3.5)),
    ("invalid_timestamp", _invalid_timestamp),
)


def truncated_line(ctx: Day, start: dt.datetime) -> Line:
    """A cut-off write; ASCII-only so the cut never splits a UTF-8 sequence."""
    record = event_record(ctx, random_instant(ctx.rng, start.date(), start.hour))
    text = json.dumps(record, ensure_ascii=True).encode()
    return Line(text[: len(text) // 2], Quarantined("truncated_line"))


def broken_event_lines(ctx: Day, extras: dict[int, list[Line]]) -> None:
    for reason, variants in _BROKEN_EVENTS:
        hour = ctx.rng.randrange(24)
        instant = random_instant(ctx.rng, ctx.day, hour)
        record = event_record(ctx, instant, event="feature_used")
        text = ctx.variant(variants)(ctx, record, instant)
        extras[hour].append(Line(text, Quarantined(reason)))


def broken_metric_line(ctx: Day) -> tuple[int, Line]:
    """One broken sample a day, never in the file whose valid last line lacks its newline."""
    hour = ctx.rng.randrange(UNTERMINATED_METRICS_HOUR + 1, 24)
    instant = random_instant(ctx.rng, ctx.day, hour)
    reason, apply = ctx.variant(_METRIC_BREAKS)
    text = apply(ctx, metric_sample(ctx, instant, "billing", "latency"), instant)
    return hour, Line(text, Quarantined(reason))


def broken_csv_lines(ctx: Day, header: Sequence[str], old: bool) -> list[Line]:
    """A row with a field too many or too few, and one with an empty timestamp or bad latency."""
    rng = ctx.rng

    def row() -> dict[str, str]:
        instant = random_instant(rng, ctx.day, rng.randrange(24))
        return {**csv_row(ctx, instant, old), "plan": "pro", "latency_ms": "42.0"}

    miscounted = row()
    cells = [miscounted[column] for column in header]
    if ctx.index % 2 == 0:
        cells[header.index("feature_id")] = "export,pdf"  # an unquoted comma: one field too many
    else:
        cells.pop()  # a row cut short: one field too few
    reason, column, cell = ctx.variant(
        (
            ("missing_field", "timestamp", ""),
            ("invalid_latency", "latency_ms", "n/a"),
            ("invalid_latency", "latency_ms", "12ms"),
        )
    )
    bad_cell = {**row(), column: cell}
    return [
        Line(",".join(cells).encode(), Quarantined("bad_column_count")),
        Line(csv_text([bad_cell[c] for c in header], old), Quarantined(reason)),
    ]
