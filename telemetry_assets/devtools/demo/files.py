"""The landing folder's files, day by day: which lines go into which file, and whole-file cases.

Per day: 24 hourly events files (format A), 24 hourly metrics files (format C) and one
product-analytics CSV (format B), plus on chosen days a redelivered copy, a writer's in-flight
`.tmp` file, a zero-byte file and a file in a `late/` subfolder. Ignored names (`README.txt`,
`_SUCCESS`) are planned once for the whole folder.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import defaultdict
from dataclasses import replace

from .breakage import broken_csv_lines, broken_event_lines, broken_metric_line, truncated_line
from .csv_records import CSV_HEADER, OLD_CSV_HEADER, csv_line, csv_text
from .log_records import LOG_HOURS, logs_file
from .metric_records import metric_line
from .model import (
    BLANK,
    BLANK_LINES,
    BOM_HOUR,
    CRLF_HOUR,
    REDELIVERED_HOUR,
    TRAILING_BLANK_HOUR,
    TRUNCATED_HOUR,
    UNTERMINATED_METRICS_HOUR,
    Day,
    File,
    Line,
    Valid,
)
from .records import (
    HOUR_US,
    METRIC_TYPES,
    SERVICES,
    any_stamp,
    duplicate_pair,
    event_line,
    format_stamp,
    instants,
    midnight,
    random_instant,
    scatter,
)

USER_COUNT = 300
_FIRST_USER_ID = 1_000_100
_DAY_US = 24 * HOUR_US

_README = (
    b"Demo landing data written by telemetry-demo-data. This file is not an input: only\n"
    b"events-*, product-analytics-* and metrics-* files are read."
)


# --- format A: which extra lines go into which hourly file ----------------------------------


def _boundary_lines(ctx: Day, extras: dict[int, list[Line]]) -> None:
    """Written dates that differ from the UTC day, and instants a hair away from midnight."""
    rng, day_start = ctx.rng, midnight(ctx.day)
    first, last = random_instant(rng, ctx.day, 0), random_instant(rng, ctx.day, 23)
    extras[0].append(event_line(ctx, first, any_stamp(rng, first, "-05:00")))
    extras[23].append(event_line(ctx, last, any_stamp(rng, last, "+02:00")))
    # Nine fraction digits: rounding instead of truncating would move it to the next day.
    final = day_start + dt.timedelta(days=1, microseconds=-1)
    extras[23].append(event_line(ctx, final, format_stamp(rng, final, 9, "Z")))
    if ctx.in_range(ctx.day - dt.timedelta(days=1)):
        just_before = day_start - dt.timedelta(microseconds=rng.randrange(1, 1_000_000))
        extras[0].append(event_line(ctx, just_before))


def _late_and_early_lines(ctx: Day, extras: dict[int, list[Line]]) -> None:
    """Records 1 and 2 days late (still within TELEMETRY_LATE_DAYS) and one record 1 day early."""
    rng = ctx.rng
    for hour, days_late in ((5, 1), (6, 2)):
        day = ctx.day - dt.timedelta(days=days_late)
        if ctx.in_range(day):
            extras[hour].append(event_line(ctx, random_instant(rng, day, rng.randrange(24))))
    tomorrow = ctx.day + dt.timedelta(days=1)
    if ctx.index == 0 and ctx.in_range(tomorrow):
        extras[22].append(event_line(ctx, random_instant(rng, tomorrow, 0)))


def _event_extras(ctx: Day) -> dict[int, list[Line]]:
    extras: dict[int, list[Line]] = defaultdict(list)
    broken_event_lines(ctx, extras)
    for hour, texts in BLANK_LINES.items():
        extras[hour].extend(Line(text) for text in texts)
    for hour in (8, 14, 20):
        extras[hour].extend(duplicate_pair(ctx, random_instant(ctx.rng, ctx.day, hour)))
    _boundary_lines(ctx, extras)
    _late_and_early_lines(ctx, extras)
    return extras


def _events_file(ctx: Day, hour: int, count: int, extras: list[Line]) -> File:
    start = midnight(ctx.day) + dt.timedelta(hours=hour)
    lines = [event_line(ctx, instant) for instant in instants(ctx.rng, start, HOUR_US, count)]
    suffix = ".jsonl.gz" if hour % 6 == 0 else ".jsonl"
    file = File(f"events-{ctx.day}T{hour:02d}{suffix}", ctx.day, scatter(ctx.rng, lines, extras))
    if hour == TRUNCATED_HOUR:
        file.lines.append(truncated_line(ctx, start))
        file.terminated = False
    if hour == TRAILING_BLANK_HOUR:
        file.lines.append(BLANK)
    file.bom = hour == BOM_HOUR and ctx.has("bom")
    if hour == CRLF_HOUR and ctx.has("crlf"):
        file.newline = b"\r\n"
    return file


# --- format C and format B files --------------------------------------------------------------


def _metrics_file(ctx: Day, hour: int, extras: list[Line]) -> File:
    """A few samples per service and metric type, interleaved in time."""
    rng = ctx.rng
    series = [(s, m) for s in SERVICES for m in METRIC_TYPES for _ in range(rng.randint(2, 4))]
    rng.shuffle(series)
    start = midnight(ctx.day) + dt.timedelta(hours=hour)
    times = instants(rng, start, HOUR_US, len(series))
    lines = [metric_line(ctx, i, s, m) for i, (s, m) in zip(times, series, strict=True)]
    suffix = ".jsonl.gz" if hour % 12 == 7 else ".jsonl"
    file = File(f"metrics-{ctx.day}T{hour:02d}{suffix}", ctx.day, scatter(rng, lines, extras))
    # A valid last line without its newline is a normal record, not truncated_line.
    file.terminated = not (hour == UNTERMINATED_METRICS_HOUR and ctx.has("unterminated_metrics"))
    return file


def _analytics_file(ctx: Day, rows: int) -> File:
    old = ctx.has("old_export")
    header = OLD_CSV_HEADER if old else CSV_HEADER
    times = instants(ctx.rng, midnight(ctx.day), _DAY_US, rows)
    lines = [csv_line(ctx, instant, header, old) for instant in times]
    lines = scatter(ctx.rng, lines, broken_csv_lines(ctx, header, old))
    # The header is the first non-blank line, so a blank line may come before it.
    lead = [BLANK] if ctx.has("leading_blank_csv") else []
    suffix = ".csv.gz" if ctx.has("gzip_csv") else ".csv"
    return File(
        f"product-analytics-{ctx.day}{suffix}",
        ctx.day,
        [*lead, Line(csv_text(header, quote_all=False)), *lines],
        newline=b"\r\n" if old else b"\n",
    )


# --- whole files: copies, late folder, ignored names ------------------------------------------


def _redelivered(original: File) -> File:
    """The same bytes landed again under another name.

    Every valid record becomes a duplicate; its quarantined records (all kept) count again.
    """
    lines = [
        replace(line, outcome=replace(line.outcome, duplicate=True))
        if isinstance(line.outcome, Valid)
        else line
        for line in original.lines
    ]
    name = original.rel_path.replace(".jsonl", "-redelivery.jsonl")
    return replace(original, rel_path=name, lines=lines)


def _in_flight(original: File) -> File:
    """A writer's temporary file: `.tmp` is not a landing name, so none of it may be read."""
    lines = [Line(line.text) for line in original.lines]
    return replace(original, rel_path=original.rel_path + ".tmp", lines=lines)


def _late_folder_file(ctx: Day, count: int) -> File:
    """A file that landed a day late: named for tomorrow (its file day), holding today's events."""
    start = midnight(ctx.day) + dt.timedelta(hours=14)
    lines = [event_line(ctx, instant) for instant in instants(ctx.rng, start, HOUR_US, count)]
    tomorrow = ctx.day + dt.timedelta(days=1)
    return File(f"late/events-{tomorrow}T03-late.jsonl", tomorrow, lines)


def _day_files(ctx: Day, events_per_hour: int) -> list[File]:
    extras = _event_extras(ctx)
    events = [_events_file(ctx, hour, events_per_hour, extras[hour]) for hour in range(24)]
    broken_hour, broken_line = broken_metric_line(ctx)
    metrics = [
        _metrics_file(ctx, hour, [broken_line] if hour == broken_hour else []) for hour in range(24)
    ]
    logs = [logs_file(ctx.day, hour, max(4, events_per_hour // 4)) for hour in LOG_HOURS]
    files = [*events, *metrics, *logs, _analytics_file(ctx, 2 * events_per_hour)]
    if ctx.has("redelivery"):
        files.append(_redelivered(events[REDELIVERED_HOUR]))
    if ctx.has("in_flight_tmp"):
        files.append(_in_flight(events[5]))
    if ctx.has("zero_byte"):
        files.append(File(f"late/events-{ctx.day}T11-retry.jsonl", ctx.day, []))
    if ctx.index == ctx.days - 2:
        files.append(_late_folder_file(ctx, max(1, events_per_hour // 10)))
    return files


def _active_users(rng: random.Random, propensity: list[float]) -> list[int]:
    """Today's active users: power, regular and casual users make DAU < WAU < MAU."""
    active = [user for user, p in enumerate(propensity) if rng.random() < p] or [0]
    return [_FIRST_USER_ID + user for user in active]


def plan(start: dt.date, days: int, rng: random.Random, events_per_hour: int) -> list[File]:
    """Every file of the landing folder, in memory, with each line's known outcome."""
    propensity = [rng.choice((0.85, 0.45, 0.45, 0.12, 0.12, 0.12)) for _ in range(USER_COUNT)]
    seq = itertools.count(1)
    files = [File("README.txt", start, [Line(_README)]), File("_SUCCESS", start, [])]
    for index in range(days):
        day = start + dt.timedelta(days=index)
        ctx = Day(rng, day, index, days, _active_users(rng, propensity), seq)
        files.extend(_day_files(ctx, events_per_hour))
    return files
