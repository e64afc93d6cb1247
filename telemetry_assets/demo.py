"""Realistic demo landing files together with the counts the pipeline must produce from them.

`make demo` and the end-to-end tests need a landing folder that exercises every rule of the
landing contract (DESIGN.md section 4): three formats, gzip, subfolders, ignored names, late and
early records, redelivered files, re-serialised duplicates, every reason code, blank lines, CRLF,
a BOM and an empty file. The expected counts (`DemoManifest.expected`) are booked here from what
was deliberately written, never by reading the files back, so they are an answer that is
independent of the project's reader and gate. They assume the default `TELEMETRY_LATE_DAYS=2`.

Usage: `telemetry-demo-data --landing DIR --start 2025-03-01 --days 7 [--manifest PATH]`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import itertools
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

V1 = "telemetry_event_v1"
FEATURES = ("search", "export", "dashboard", "share", "alerts", "settings", "import", "reports")
SERVICES = ("api", "auth", "billing", "search-svc")
METRIC_TYPES = ("latency", "error_rate", "throughput", "cpu", "memory")
USER_COUNT = 300
_FIRST_USER_ID = 1_000_100

# Medians in ms, so latency percentiles differ visibly per feature and per service.
_FEATURE_LATENCY = {
    "search": 120.0,
    "export": 800.0,
    "dashboard": 250.0,
    "share": 90.0,
    "alerts": 60.0,
    "settings": 40.0,
    "import": 1500.0,
    "reports": 600.0,
}
_SERVICE_LATENCY = {"api": 80.0, "auth": 35.0, "billing": 150.0, "search-svc": 110.0}
# Non-ASCII text, so `\u00e9`-style escapes must not change identity, and U+2028, U+2029 and
# U+0085 inside strings, which must not split lines (`str.splitlines()` would).
_PAGES = ("/home", "/reports", "/settings", "/fr/paramètres", "/de/übersicht", "/es/café")
_QUERIES = (
    "quarterly report",
    "café menu",
    "naïve bayes",
    "line one\u2028line two",
    "para\u2029graph",
    "Zürich\u0085office",
)
_PLANS = ("free", "pro", "enterprise, annual", 'team "beta"')
_ZONES = ("Z", "Z", "Z", "Z", "", "", "+02:00", "-05:00", "+05:30")
_FRACTION_DIGITS = (0, 0, 3, 6, 9)
_SEPARATORS = ((", ", ": "), (",", ":"), (",", ": "))

_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_BOM = b"\xef\xbb\xbf"
_ABSENT: Any = object()

# Where the one-of-a-kind features go: the hour of the day's files, and the day (index modulo
# the number of days) that carries a feature only once.
_TRUNCATED_HOUR = 17
_TRAILING_BLANK_HOUR = 21
_BLANK_LINES = {3: (b"", b" \t "), 10: (b"\t",)}
_REDELIVERED_HOUR = 9
_UNTERMINATED_METRICS_HOUR = 5
_ONE_OFF_DAY = {
    "bom": 0,
    "leading_blank_csv": 0,
    "in_flight_tmp": 0,
    "unterminated_metrics": 0,
    "old_export": 1,
    "zero_byte": 1,
    "crlf": 2,
    "redelivery": 2,
    "gzip_csv": 3,
}
_BOM_HOUR = 1
_CRLF_HOUR = 3

T = TypeVar("T")


@dataclass
class DayExpectation:
    """What the pipeline must report for one day (`ingest_stats` plus quarantine by reason)."""

    records_read: int = 0
    valid: int = 0
    duplicates_removed: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoManifest:
    """The files written (relative to the landing folder) and the known answer per day."""

    files: list[str]
    expected: dict[dt.date, DayExpectation]

    def total(self) -> DayExpectation:
        """All days together: the numbers a one-line summary or a whole-range check needs."""
        total = DayExpectation()
        for day in self.expected.values():
            total.records_read += day.records_read
            total.valid += day.valid
            total.duplicates_removed += day.duplicates_removed
            total.quarantined += day.quarantined
            for reason, count in day.quarantined_by_reason.items():
                by_reason = total.quarantined_by_reason
                by_reason[reason] = by_reason.get(reason, 0) + count
        return total

    def to_json(self) -> str:
        """Dates as ISO keys, so a test or CI step can compare it with `ingest_stats`."""
        expected = {day.isoformat(): asdict(counts) for day, counts in self.expected.items()}
        return json.dumps({"files": self.files, "expected": expected}, indent=2, sort_keys=True)


@dataclass(frozen=True)
class _Valid:
    """A record that passes the gate; `duplicate` marks a deliberate copy of an earlier one."""

    event_day: dt.date
    identity: str
    duplicate: bool = False


@dataclass(frozen=True)
class _Quarantined:
    reason: str


@dataclass(frozen=True)
class _Line:
    """One physical line; no outcome means it is not a record (blank, CSV header, ignored file)."""

    text: bytes
    outcome: _Valid | _Quarantined | None = None


_BLANK = _Line(b"")


@dataclass
class _File:
    """A file planned in memory: its bytes and its known answer come from the same lines."""

    rel_path: str
    file_day: dt.date
    lines: list[_Line]
    newline: bytes = b"\n"
    bom: bool = False
    terminated: bool = True

    def data(self) -> bytes:
        body = self.newline.join(line.text for line in self.lines)
        if self.lines and self.terminated:
            body += self.newline
        content = (_BOM if self.bom else b"") + body
        # mtime=0 keeps gzip bytes identical for a given seed.
        return gzip.compress(content, mtime=0) if self.rel_path.endswith(".gz") else content


@dataclass
class _Day:
    """Everything the builders of one file day share."""

    rng: random.Random
    day: dt.date
    index: int
    days: int
    users: list[int]
    seq: Iterator[int]

    def has(self, one_off: str) -> bool:
        """Whether this day carries a feature that the landing folder holds only once."""
        return self.index == _ONE_OFF_DAY[one_off] % self.days

    def in_range(self, day: dt.date) -> bool:
        """Late and early records stay inside the generated days, so `expected` covers them."""
        return 0 <= self.index + (day - self.day).days < self.days

    def variant(self, options: Sequence[T]) -> T:
        """Rotate through the variants of a case day by day."""
        return options[self.index % len(options)]


# --- timestamps, identity and serialisation -------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    """Naive datetimes are UTC throughout this module."""
    return dt.datetime.combine(day, dt.time())


def _instants(
    rng: random.Random, start: dt.datetime, span_us: int, count: int
) -> list[dt.datetime]:
    """Distinct, sorted instants; distinct microseconds keep metric and CSV records unique."""
    offsets = sorted(rng.sample(range(span_us), count))
    return [start + dt.timedelta(microseconds=offset) for offset in offsets]


def _stamp(rng: random.Random, instant: dt.datetime, digits: int, zone: str) -> str:
    """The instant as written by some producer: 0-9 fraction digits, `Z`, naive or an offset."""
    sign = -1 if zone.startswith("-") else 1
    hours, _, minutes = zone[1:].partition(":")
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes)) if minutes else dt.timedelta()
    local = instant + sign * offset
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        nanos = f"{local.microsecond:06d}{rng.randrange(1000):03d}"
        text += "." + nanos[:digits]
    return text + zone


def _any_stamp(rng: random.Random, instant: dt.datetime, zone: str | None = None) -> str:
    zone = rng.choice(_ZONES) if zone is None else zone
    return _stamp(rng, instant, rng.choice(_FRACTION_DIGITS), zone)


def _exact_stamp(rng: random.Random, instant: dt.datetime, zones: Sequence[str]) -> str:
    """At least microseconds, so distinct instants always give distinct texts."""
    return _stamp(rng, instant, rng.choice((6, 9)), rng.choice(zones))


def _identity(record: dict[str, Any]) -> str:
    """Canonical JSON of the mapped v1 record: what makes two records one event."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _shuffled(value: Any, rng: random.Random) -> Any:
    if not isinstance(value, dict):
        return value
    keys = list(value)
    rng.shuffle(keys)
    return {key: _shuffled(value[key], rng) for key in keys}


def _render(record: dict[str, Any], rng: random.Random) -> bytes:
    """One JSON line in a random producer's style: key order, spacing and escapes vary."""
    ordered = _shuffled(record, rng) if rng.random() < 0.3 else record
    separators = rng.choice(_SEPARATORS)
    return json.dumps(ordered, separators=separators, ensure_ascii=rng.random() < 0.2).encode()


def _scatter(rng: random.Random, lines: list[_Line], extras: Sequence[_Line]) -> list[_Line]:
    """Insert extras at random places, keeping their order (an original before its copy)."""
    merged = list(lines)
    positions = sorted(rng.randint(0, len(lines)) for _ in extras)
    for shift, (position, extra) in enumerate(zip(positions, extras, strict=True)):
        merged.insert(position + shift, extra)
    return merged


def _random_instant(rng: random.Random, day: dt.date, hour: int) -> dt.datetime:
    return _midnight(day) + dt.timedelta(hours=hour, microseconds=rng.randrange(_HOUR_US))


# --- format A: telemetry_event_v1 records ---------------------------------------------------


def _envelope(channel: str, event: str, timestamp: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": V1,
        "channel": channel,
        "event": event,
        "timestamp": timestamp,
        "payload": payload,
    }


def _latency(rng: random.Random, median: float) -> float:
    """Log-normal around the median: a realistic long tail for p95/p99."""
    return round(median * rng.lognormvariate(0, 0.5), 1)


def _feature_latency(rng: random.Random, feature: str) -> float | int | None:
    """Mostly a duration; sometimes no latency (null) and sometimes 0, which are both valid."""
    draw = rng.random()
    if draw < 0.02:
        return None
    if draw < 0.03:
        return 0
    return _latency(rng, _FEATURE_LATENCY[feature])


def _user_payload(ctx: _Day, event: str, instant: dt.datetime) -> dict[str, Any]:
    """user_id is a JSON integer or the same id as a string; event_id keeps every event unique."""
    rng = ctx.rng
    user = rng.choice(ctx.users)
    payload: dict[str, Any] = {
        "user_id": user if rng.random() < 0.5 else str(user),
        "session_id": f"s-{user}-{instant:%m%d}-{instant.hour // 4}",
        "event_id": f"ev-{next(ctx.seq):08d}",
    }
    if event == "page_view":
        payload["page"] = rng.choice(_PAGES)
        if rng.random() < 0.05:
            del payload["user_id"]  # an anonymous visitor
        return payload
    feature = rng.choice(FEATURES)
    payload["feature_id"] = feature
    if event == "feature_used":
        payload["latency_ms"] = _feature_latency(rng, feature)
        if feature == "search":
            payload["query"] = rng.choice(_QUERIES)
    return payload


def _span_payload(ctx: _Day) -> dict[str, Any]:
    rng = ctx.rng
    service = rng.choice(SERVICES)
    return {
        "service": service,
        "latency_ms": _latency(rng, _SERVICE_LATENCY[service]),
        "status": "error" if rng.random() < 0.04 else "ok",
        "trace_id": f"{rng.getrandbits(64):016x}",
        "span_id": f"{next(ctx.seq):016x}",
    }


def _step_payload(ctx: _Day, instant: dt.datetime) -> dict[str, Any]:
    return {
        "service": "sim-engine",
        "run_id": f"run-{instant:%Y%m%d}-{instant.hour // 6}",
        "step": next(ctx.seq),
        "latency_ms": _latency(ctx.rng, 25.0),
    }


def _event_record(
    ctx: _Day, instant: dt.datetime, stamp: str | None = None, event: str | None = None
) -> dict[str, Any]:
    """A v1 record at the instant; `stamp` overrides the randomly styled timestamp text."""
    rng = ctx.rng
    stamp = stamp or _any_stamp(rng, instant)
    channel = "user" if event else rng.choices(("user", "trace", "simulation"), (6, 3, 1))[0]
    if channel == "trace":
        return _envelope(channel, "span", stamp, _span_payload(ctx))
    if channel == "simulation":
        return _envelope(channel, "step", stamp, _step_payload(ctx, instant))
    event = event or rng.choices(("page_view", "click", "feature_used"), (5, 3, 4))[0]
    return _envelope(channel, event, stamp, _user_payload(ctx, event, instant))


def _event_line(ctx: _Day, instant: dt.datetime, stamp: str | None = None) -> _Line:
    record = _event_record(ctx, instant, stamp)
    return _Line(_render(record, ctx.rng), _Valid(instant.date(), _identity(record)))


def _duplicate_pair(ctx: _Day, instant: dt.datetime) -> list[_Line]:
    """A retried write: the same event again, re-serialised with other key order and escapes."""
    rng = ctx.rng
    record = _event_record(ctx, instant, event="page_view")
    record["payload"]["page"] = rng.choice([page for page in _PAGES if not page.isascii()])
    outcome = _Valid(instant.date(), _identity(record))
    original = json.dumps(record, ensure_ascii=False).encode()
    copy = json.dumps(_shuffled(record, rng), separators=(",", ":"), ensure_ascii=True).encode()
    return [_Line(original, outcome), _Line(copy, replace(outcome, duplicate=True))]


# --- malformed records: each fails exactly one rule of the contract --------------------------

_Break = Callable[[_Day, dict[str, Any], dt.datetime], bytes]


def _set_field(path: tuple[str, ...], value: Any) -> _Break:
    """A break that sets (or, with _ABSENT, removes) one field of an otherwise valid record."""

    def apply(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
        target = record
        for key in path[:-1]:
            target = target[key]
        if value is _ABSENT:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return _render(record, ctx.rng)

    return apply


def _shifted(days: int) -> _Break:
    """A break that moves the timestamp by whole days (future_timestamp, too_late)."""

    def apply(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
        record["timestamp"] = _any_stamp(ctx.rng, instant + dt.timedelta(days=days))
        return _render(record, ctx.rng)

    return apply


def _invalid_timestamp(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
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
    return _render(record, ctx.rng)


def _trailing_comma(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return _render(record, ctx.rng)[:-1] + b",}"


def _single_quotes(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return json.dumps(record).replace('"', "'").encode()


def _nan_latency(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    record["payload"]["latency_ms"] = float("nan")
    return json.dumps(record).encode()


def _two_objects(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    line = _render(record, ctx.rng)
    return line + b" " + line


def _not_utf8(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    """A Latin-1 writer: the é of the page becomes the single byte 0xE9."""
    record["payload"]["page"] = "/es/café"
    return json.dumps(record, ensure_ascii=False).encode().replace("é".encode(), b"\xe9")


def _json_array(ctx: _Day, record: dict[str, Any], instant: dt.datetime) -> bytes:
    return b"[" + _render(record, ctx.rng) + b"]"


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


def _truncated_line(ctx: _Day, start: dt.datetime) -> _Line:
    """A cut-off write; ASCII-only so the cut never splits a UTF-8 sequence."""
    record = _event_record(ctx, _random_instant(ctx.rng, start.date(), start.hour))
    text = json.dumps(record, ensure_ascii=True).encode()
    return _Line(text[: len(text) // 2], _Quarantined("truncated_line"))


# --- format A: which extra lines go into which hourly file ----------------------------------


def _broken_event_lines(ctx: _Day, extras: dict[int, list[_Line]]) -> None:
    for reason, variants in _BROKEN_EVENTS:
        hour = ctx.rng.randrange(24)
        instant = _random_instant(ctx.rng, ctx.day, hour)
        record = _event_record(ctx, instant, event="feature_used")
        text = ctx.variant(variants)(ctx, record, instant)
        extras[hour].append(_Line(text, _Quarantined(reason)))


def _boundary_lines(ctx: _Day, extras: dict[int, list[_Line]]) -> None:
    """Written dates that differ from the UTC day, and instants a hair away from midnight."""
    rng, midnight = ctx.rng, _midnight(ctx.day)
    first, last = _random_instant(rng, ctx.day, 0), _random_instant(rng, ctx.day, 23)
    extras[0].append(_event_line(ctx, first, _any_stamp(rng, first, "-05:00")))
    extras[23].append(_event_line(ctx, last, _any_stamp(rng, last, "+02:00")))
    # Nine fraction digits: rounding instead of truncating would move it to the next day.
    final = midnight + dt.timedelta(days=1, microseconds=-1)
    extras[23].append(_event_line(ctx, final, _stamp(rng, final, 9, "Z")))
    if ctx.in_range(ctx.day - dt.timedelta(days=1)):
        just_before = midnight - dt.timedelta(microseconds=rng.randrange(1, 1_000_000))
        extras[0].append(_event_line(ctx, just_before))


def _late_and_early_lines(ctx: _Day, extras: dict[int, list[_Line]]) -> None:
    """Records 1 and 2 days late (still within TELEMETRY_LATE_DAYS) and one record 1 day early."""
    rng = ctx.rng
    for hour, days_late in ((5, 1), (6, 2)):
        day = ctx.day - dt.timedelta(days=days_late)
        if ctx.in_range(day):
            extras[hour].append(_event_line(ctx, _random_instant(rng, day, rng.randrange(24))))
    tomorrow = ctx.day + dt.timedelta(days=1)
    if ctx.index == 0 and ctx.in_range(tomorrow):
        extras[22].append(_event_line(ctx, _random_instant(rng, tomorrow, 0)))


def _event_extras(ctx: _Day) -> dict[int, list[_Line]]:
    extras: dict[int, list[_Line]] = defaultdict(list)
    _broken_event_lines(ctx, extras)
    for hour, texts in _BLANK_LINES.items():
        extras[hour].extend(_Line(text) for text in texts)
    for hour in (8, 14, 20):
        extras[hour].extend(_duplicate_pair(ctx, _random_instant(ctx.rng, ctx.day, hour)))
    _boundary_lines(ctx, extras)
    _late_and_early_lines(ctx, extras)
    return extras


def _events_file(ctx: _Day, hour: int, count: int, extras: list[_Line]) -> _File:
    start = _midnight(ctx.day) + dt.timedelta(hours=hour)
    lines = [_event_line(ctx, instant) for instant in _instants(ctx.rng, start, _HOUR_US, count)]
    suffix = ".jsonl.gz" if hour % 6 == 0 else ".jsonl"
    file = _File(f"events-{ctx.day}T{hour:02d}{suffix}", ctx.day, _scatter(ctx.rng, lines, extras))
    if hour == _TRUNCATED_HOUR:
        file.lines.append(_truncated_line(ctx, start))
        file.terminated = False
    if hour == _TRAILING_BLANK_HOUR:
        file.lines.append(_BLANK)
    file.bom = hour == _BOM_HOUR and ctx.has("bom")
    if hour == _CRLF_HOUR and ctx.has("crlf"):
        file.newline = b"\r\n"
    return file


# --- format C: metric samples -----------------------------------------------------------------


def _metric_value(rng: random.Random, service: str, metric: str) -> float | int:
    if metric == "latency":
        return _latency(rng, _SERVICE_LATENCY[service])
    if metric == "error_rate":
        return round(min(0.2, rng.expovariate(60)), 4)
    if metric == "throughput":
        return rng.randint(40, 2000)  # requests per minute
    return round(rng.uniform(3, 97), 1)  # cpu and memory percent


def _metric_sample(ctx: _Day, instant: dt.datetime, service: str, metric: str) -> dict[str, Any]:
    rng = ctx.rng
    sample: dict[str, Any] = {
        "timestamp": _exact_stamp(rng, instant, ("Z", "Z", "Z", "", "+01:00")),
        "service": service,
        "metric_type": metric,
        "value": _metric_value(rng, service, metric),
    }
    if rng.random() < 0.7:
        host = f"{service}-{rng.randint(1, 3)}"
        sample["tags"] = {"host": host, "region": rng.choice(("eu-west-1", "us-east-1"))}
    return sample


def _metric_as_v1(sample: dict[str, Any]) -> dict[str, Any]:
    payload = {**sample.get("tags", {}), "service": sample["service"], "value": sample["value"]}
    if sample["metric_type"] == "latency":
        payload["latency_ms"] = sample["value"]
    return _envelope("metric", sample["metric_type"], sample["timestamp"], payload)


def _metric_line(ctx: _Day, instant: dt.datetime, service: str, metric: str) -> _Line:
    sample = _metric_sample(ctx, instant, service, metric)
    outcome = _Valid(instant.date(), _identity(_metric_as_v1(sample)))
    return _Line(_render(sample, ctx.rng), outcome)


def _broken_metric_line(ctx: _Day) -> tuple[int, _Line]:
    """One broken sample a day, never in the file whose valid last line lacks its newline."""
    hour = ctx.rng.randrange(_UNTERMINATED_METRICS_HOUR + 1, 24)
    instant = _random_instant(ctx.rng, ctx.day, hour)
    reason, apply = ctx.variant(_METRIC_BREAKS)
    text = apply(ctx, _metric_sample(ctx, instant, "billing", "latency"), instant)
    return hour, _Line(text, _Quarantined(reason))


def _metrics_file(ctx: _Day, hour: int, extras: list[_Line]) -> _File:
    """A few samples per service and metric type, interleaved in time."""
    rng = ctx.rng
    series = [(s, m) for s in SERVICES for m in METRIC_TYPES for _ in range(rng.randint(2, 4))]
    rng.shuffle(series)
    start = _midnight(ctx.day) + dt.timedelta(hours=hour)
    instants = _instants(rng, start, _HOUR_US, len(series))
    lines = [_metric_line(ctx, i, s, m) for i, (s, m) in zip(instants, series, strict=True)]
    suffix = ".jsonl.gz" if hour % 12 == 7 else ".jsonl"
    file = _File(f"metrics-{ctx.day}T{hour:02d}{suffix}", ctx.day, _scatter(rng, lines, extras))
    # A valid last line without its newline is a normal record, not truncated_line.
    file.terminated = not (hour == _UNTERMINATED_METRICS_HOUR and ctx.has("unterminated_metrics"))
    return file


# --- format B: daily product-analytics CSV ---------------------------------------------------

_CSV_HEADER = ("timestamp", "user_id", "feature_id", "latency_ms")
# The older export: an event column, a plan column and another column order, all quoted.
_OLD_CSV_HEADER = ("event", "timestamp", "user_id", "plan", "feature_id", "latency_ms")


def _csv_text(cells: Sequence[str], quote_all: bool) -> bytes:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buffer, quoting=quoting, lineterminator="\n").writerow(cells)
    return buffer.getvalue()[:-1].encode()


def _csv_row(ctx: _Day, instant: dt.datetime, old_export: bool) -> dict[str, str]:
    """Cells by column name; an empty cell (anonymous user, no latency) means the key is absent."""
    rng = ctx.rng
    feature = rng.choice(FEATURES)
    latency = _feature_latency(rng, feature)
    zones = ("",) if old_export else ("Z", "Z", "Z", "+01:00")
    row = {
        "timestamp": _exact_stamp(rng, instant, zones),
        "user_id": "" if rng.random() < 0.03 else str(rng.choice(ctx.users)),
        "feature_id": feature,
        "latency_ms": "" if latency is None else str(latency),
    }
    if old_export:
        row["event"] = rng.choices(("feature_used", "feature_opened"), (9, 1))[0]
        row["plan"] = rng.choice(_PLANS)
    return row


def _csv_as_v1(row: dict[str, str]) -> dict[str, Any]:
    """Other columns stay strings; latency_ms becomes the number it spells."""
    payload: dict[str, Any] = {
        key: value for key, value in row.items() if value and key not in ("timestamp", "event")
    }
    if "latency_ms" in payload:
        payload["latency_ms"] = json.loads(payload["latency_ms"])
    return _envelope("user", row.get("event", "feature_used"), row["timestamp"], payload)


def _csv_line(ctx: _Day, instant: dt.datetime, header: Sequence[str], old: bool) -> _Line:
    row = _csv_row(ctx, instant, old)
    text = _csv_text([row[column] for column in header], quote_all=old)
    return _Line(text, _Valid(instant.date(), _identity(_csv_as_v1(row))))


def _broken_csv_lines(ctx: _Day, header: Sequence[str], old: bool) -> list[_Line]:
    """A row with a field too many or too few, and one with an empty timestamp or bad latency."""
    rng = ctx.rng

    def row() -> dict[str, str]:
        instant = _random_instant(rng, ctx.day, rng.randrange(24))
        return {**_csv_row(ctx, instant, old), "plan": "pro", "latency_ms": "42.0"}

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
        _Line(",".join(cells).encode(), _Quarantined("bad_column_count")),
        _Line(_csv_text([bad_cell[c] for c in header], old), _Quarantined(reason)),
    ]


def _analytics_file(ctx: _Day, rows: int) -> _File:
    old = ctx.has("old_export")
    header = _OLD_CSV_HEADER if old else _CSV_HEADER
    instants = _instants(ctx.rng, _midnight(ctx.day), _DAY_US, rows)
    lines = [_csv_line(ctx, instant, header, old) for instant in instants]
    lines = _scatter(ctx.rng, lines, _broken_csv_lines(ctx, header, old))
    # The header is the first non-blank line, so a blank line may come before it.
    lead = [_BLANK] if ctx.has("leading_blank_csv") else []
    suffix = ".csv.gz" if ctx.has("gzip_csv") else ".csv"
    return _File(
        f"product-analytics-{ctx.day}{suffix}",
        ctx.day,
        [*lead, _Line(_csv_text(header, quote_all=False)), *lines],
        newline=b"\r\n" if old else b"\n",
    )


# --- whole files: copies, late folder, ignored names ------------------------------------------


def _redelivered(original: _File) -> _File:
    """The same bytes landed again under another name.

    Every valid record becomes a duplicate; its quarantined records (all kept) count again.
    """
    lines = [
        replace(line, outcome=replace(line.outcome, duplicate=True))
        if isinstance(line.outcome, _Valid)
        else line
        for line in original.lines
    ]
    name = original.rel_path.replace(".jsonl", "-redelivery.jsonl")
    return replace(original, rel_path=name, lines=lines)


def _in_flight(original: _File) -> _File:
    """A writer's temporary file: `.tmp` is not a landing name, so none of it may be read."""
    lines = [_Line(line.text) for line in original.lines]
    return replace(original, rel_path=original.rel_path + ".tmp", lines=lines)


def _late_folder_file(ctx: _Day, count: int) -> _File:
    """A file that landed a day late: named for tomorrow (its file day), holding today's events."""
    start = _midnight(ctx.day) + dt.timedelta(hours=14)
    lines = [_event_line(ctx, instant) for instant in _instants(ctx.rng, start, _HOUR_US, count)]
    tomorrow = ctx.day + dt.timedelta(days=1)
    return _File(f"late/events-{tomorrow}T03-late.jsonl", tomorrow, lines)


def _day_files(ctx: _Day, events_per_hour: int) -> list[_File]:
    extras = _event_extras(ctx)
    events = [_events_file(ctx, hour, events_per_hour, extras[hour]) for hour in range(24)]
    metric_hour, metric_line = _broken_metric_line(ctx)
    metrics = [
        _metrics_file(ctx, hour, [metric_line] if hour == metric_hour else []) for hour in range(24)
    ]
    files = [*events, *metrics, _analytics_file(ctx, 2 * events_per_hour)]
    if ctx.has("redelivery"):
        files.append(_redelivered(events[_REDELIVERED_HOUR]))
    if ctx.has("in_flight_tmp"):
        files.append(_in_flight(events[5]))
    if ctx.has("zero_byte"):
        files.append(_File(f"late/events-{ctx.day}T11-retry.jsonl", ctx.day, []))
    if ctx.index == ctx.days - 2:
        files.append(_late_folder_file(ctx, max(1, events_per_hour // 10)))
    return files


_README = (
    b"Demo landing data written by telemetry-demo-data. This file is not an input: only\n"
    b"events-*, product-analytics-* and metrics-* files are read."
)


def _active_users(rng: random.Random, propensity: list[float]) -> list[int]:
    """Today's active users: power, regular and casual users make DAU < WAU < MAU."""
    active = [user for user, p in enumerate(propensity) if rng.random() < p] or [0]
    return [_FIRST_USER_ID + user for user in active]


def _plan(start: dt.date, days: int, rng: random.Random, events_per_hour: int) -> list[_File]:
    propensity = [rng.choice((0.85, 0.45, 0.45, 0.12, 0.12, 0.12)) for _ in range(USER_COUNT)]
    seq = itertools.count(1)
    files = [_File("README.txt", start, [_Line(_README)]), _File("_SUCCESS", start, [])]
    for index in range(days):
        day = start + dt.timedelta(days=index)
        ctx = _Day(rng, day, index, days, _active_users(rng, propensity), seq)
        files.extend(_day_files(ctx, events_per_hour))
    return files


# --- the known answer -----------------------------------------------------------------------


def _book_valid(day: DayExpectation, duplicate: bool) -> None:
    day.records_read += 1
    if duplicate:
        day.duplicates_removed += 1
    else:
        day.valid += 1


def _book_quarantined(day: DayExpectation, reason: str) -> None:
    day.records_read += 1
    day.quarantined += 1
    day.quarantined_by_reason[reason] = day.quarantined_by_reason.get(reason, 0) + 1


def _expectations(files: list[_File]) -> dict[dt.date, DayExpectation]:
    """Book every record on its day, as the contract attributes it.

    Valid records and duplicates count on their event day, quarantined ones on their file day.
    Fails loudly if two records meant to differ share an identity (a generator bug).
    """
    expected: dict[dt.date, DayExpectation] = defaultdict(DayExpectation)
    seen: set[str] = set()
    intended = 0
    for file in files:
        for outcome in (line.outcome for line in file.lines):
            if isinstance(outcome, _Quarantined):
                _book_quarantined(expected[file.file_day], outcome.reason)
            elif isinstance(outcome, _Valid):
                intended += outcome.duplicate
                _book_valid(expected[outcome.event_day], outcome.identity in seen)
                seen.add(outcome.identity)
    counted = sum(day.duplicates_removed for day in expected.values())
    if counted != intended:
        raise RuntimeError(f"demo generator wrote {counted - intended} unintended duplicates")
    for day in expected.values():
        day.quarantined_by_reason = dict(sorted(day.quarantined_by_reason.items()))
    return dict(sorted(expected.items()))


def _existing_files(landing: Path) -> set[str]:
    if not landing.is_dir():
        return set()
    return {path.relative_to(landing).as_posix() for path in landing.rglob("*") if path.is_file()}


def generate_landing(
    landing: Path,
    start: dt.date,
    days: int,
    seed: int = 7,
    events_per_hour: int = 200,
) -> DemoManifest:
    """Write `days` days of landing files from `start` into `landing` and return the known answer.

    Deterministic for a seed. Every reason code occurs every day (about 16 quarantined records
    a day: 0.24 % at the default rate, above 1 % only below about 10 events per hour, because
    the metric files alone hold about 1,440 samples a day). Refuses a folder holding files this
    run would not write: they would be read too and make the expected counts wrong (re-running
    the same call is fine).
    """
    if days < 1 or events_per_hour < 1:
        raise ValueError("days and events_per_hour must be at least 1")
    files = _plan(start, days, random.Random(seed), events_per_hour)
    names = {file.rel_path for file in files}
    stale = sorted(_existing_files(landing) - names)
    if stale:
        shown = ", ".join(stale[:3]) + (", ..." if len(stale) > 3 else "")
        raise FileExistsError(
            f"{landing} already holds {len(stale)} other file(s) ({shown}); they would change "
            "the expected counts, so write the demo data into an empty folder"
        )
    for file in files:
        path = landing / file.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data())
    return DemoManifest(files=sorted(names), expected=_expectations(files))


# --- command line -----------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2025-03-01, got {text!r}") from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="telemetry-demo-data",
        description="Write realistic demo landing files (every landing-contract case included) "
        "and the per-day counts the pipeline must produce from them.",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing folder to fill")
    parser.add_argument("--start", type=_iso_date, required=True, help="first file day")
    parser.add_argument("--days", type=_positive_int, default=7, help="consecutive days")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same files")
    parser.add_argument(
        "--events-per-hour",
        type=_positive_int,
        default=200,
        help="records per hourly events file (the daily CSV gets twice as many)",
    )
    parser.add_argument(
        "--manifest", type=Path, help="also write the known answer as JSON (outside the landing)"
    )
    args = parser.parse_args(argv)
    if args.manifest and args.manifest.resolve().is_relative_to(args.landing.resolve()):
        parser.error("--manifest must not be inside the landing folder")
    return args


def _summary(landing: Path, start: dt.date, days: int, manifest: DemoManifest) -> str:
    total = manifest.total()
    last = start + dt.timedelta(days=days - 1)
    return (
        f"wrote {len(manifest.files)} files for {start}..{last} to {landing}: "
        f"{total.records_read} records = {total.valid} valid + "
        f"{total.duplicates_removed} duplicates + {total.quarantined} quarantined"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        manifest = generate_landing(
            args.landing, args.start, args.days, args.seed, args.events_per_hour
        )
    except FileExistsError as error:
        print(f"telemetry-demo-data: {error}", file=sys.stderr)
        return 1
    if args.manifest:
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        args.manifest.write_text(manifest.to_json() + "\n", encoding="utf-8")
    print(_summary(args.landing, args.start, args.days, manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
