"""Valid telemetry_event_v1 records (format A) and the timestamp and JSON helpers all formats use.

Producers differ in how they write the same event: fraction digits, time zones, key order,
spacing and escapes vary here, so identity must come from the mapped record (`identity`), never
from the text. Non-ASCII text and Unicode line separators inside strings test the reader too.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .model import Day, Line, Valid

V1 = "telemetry_event_v1"
FEATURES = ("search", "export", "dashboard", "share", "alerts", "settings", "import", "reports")
SERVICES = ("api", "auth", "billing", "search-svc")
METRIC_TYPES = ("latency", "error_rate", "throughput", "cpu", "memory")

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
SERVICE_LATENCY = {"api": 80.0, "auth": 35.0, "billing": 150.0, "search-svc": 110.0}
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
_ZONES = ("Z", "Z", "Z", "Z", "", "", "+02:00", "-05:00", "+05:30")
_FRACTION_DIGITS = (0, 0, 3, 6, 9)
_SEPARATORS = ((", ", ": "), (",", ":"), (",", ": "))

HOUR_US = 3_600_000_000


# --- timestamps, identity and serialisation -------------------------------------------------


def midnight(day: dt.date) -> dt.datetime:
    """Naive datetimes are UTC throughout this package."""
    return dt.datetime.combine(day, dt.time())


def instants(rng: random.Random, start: dt.datetime, span_us: int, count: int) -> list[dt.datetime]:
    """Distinct, sorted instants; distinct microseconds keep metric and CSV records unique."""
    offsets = sorted(rng.sample(range(span_us), count))
    return [start + dt.timedelta(microseconds=offset) for offset in offsets]


def format_stamp(rng: random.Random, instant: dt.datetime, digits: int, zone: str) -> str:
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


def any_stamp(rng: random.Random, instant: dt.datetime, zone: str | None = None) -> str:
    zone = rng.choice(_ZONES) if zone is None else zone
    return format_stamp(rng, instant, rng.choice(_FRACTION_DIGITS), zone)


def exact_stamp(rng: random.Random, instant: dt.datetime, zones: Sequence[str]) -> str:
    """At least microseconds, so distinct instants always give distinct texts."""
    return format_stamp(rng, instant, rng.choice((6, 9)), rng.choice(zones))


def identity(record: dict[str, Any]) -> str:
    """Canonical JSON of the mapped v1 record: what makes two records one event."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _shuffled(value: Any, rng: random.Random) -> Any:
    if not isinstance(value, dict):
        return value
    keys = list(value)
    rng.shuffle(keys)
    return {key: _shuffled(value[key], rng) for key in keys}


def render(record: dict[str, Any], rng: random.Random) -> bytes:
    """One JSON line in a random producer's style: key order, spacing and escapes vary."""
    ordered = _shuffled(record, rng) if rng.random() < 0.3 else record
    separators = rng.choice(_SEPARATORS)
    return json.dumps(ordered, separators=separators, ensure_ascii=rng.random() < 0.2).encode()


def scatter(rng: random.Random, lines: list[Line], extras: Sequence[Line]) -> list[Line]:
    """Insert extras at random places, keeping their order (an original before its copy)."""
    merged = list(lines)
    positions = sorted(rng.randint(0, len(lines)) for _ in extras)
    for shift, (position, extra) in enumerate(zip(positions, extras, strict=True)):
        merged.insert(position + shift, extra)
    return merged


def random_instant(rng: random.Random, day: dt.date, hour: int) -> dt.datetime:
    return midnight(day) + dt.timedelta(hours=hour, microseconds=rng.randrange(HOUR_US))


# --- format A: telemetry_event_v1 records ---------------------------------------------------


def envelope(channel: str, event: str, timestamp: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": V1,
        "channel": channel,
        "event": event,
        "timestamp": timestamp,
        "payload": payload,
    }


def latency(rng: random.Random, median: float) -> float:
    """Log-normal around the median: a realistic long tail for p95/p99."""
    return round(median * rng.lognormvariate(0, 0.5), 1)


def feature_latency(rng: random.Random, feature: str) -> float | int | None:
    """Mostly a duration; sometimes no latency (null) and sometimes 0, which are both valid."""
    draw = rng.random()
    if draw < 0.02:
        return None
    if draw < 0.03:
        return 0
    return latency(rng, _FEATURE_LATENCY[feature])


def _user_payload(ctx: Day, event: str, instant: dt.datetime) -> dict[str, Any]:
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
        payload["latency_ms"] = feature_latency(rng, feature)
        if feature == "search":
            payload["query"] = rng.choice(_QUERIES)
    return payload


def _span_payload(ctx: Day) -> dict[str, Any]:
    rng = ctx.rng
    service = rng.choice(SERVICES)
    return {
        "service": service,
        "latency_ms": latency(rng, SERVICE_LATENCY[service]),
        "status": "error" if rng.random() < 0.04 else "ok",
        "trace_id": f"{rng.getrandbits(64):016x}",
        "span_id": f"{next(ctx.seq):016x}",
    }


def _step_payload(ctx: Day, instant: dt.datetime) -> dict[str, Any]:
    return {
        "service": "sim-engine",
        "run_id": f"run-{instant:%Y%m%d}-{instant.hour // 6}",
        "step": next(ctx.seq),
        "latency_ms": latency(ctx.rng, 25.0),
    }


def event_record(
    ctx: Day, instant: dt.datetime, stamp: str | None = None, event: str | None = None
) -> dict[str, Any]:
    """A v1 record at the instant; `stamp` overrides the randomly styled timestamp text."""
    rng = ctx.rng
    stamp = stamp or any_stamp(rng, instant)
    channel = "user" if event else rng.choices(("user", "trace", "simulation"), (6, 3, 1))[0]
    if channel == "trace":
        return envelope(channel, "span", stamp, _span_payload(ctx))
    if channel == "simulation":
        return envelope(channel, "step", stamp, _step_payload(ctx, instant))
    event = event or rng.choices(("page_view", "click", "feature_used"), (5, 3, 4))[0]
    return envelope(channel, event, stamp, _user_payload(ctx, event, instant))


def event_line(ctx: Day, instant: dt.datetime, stamp: str | None = None) -> Line:
    record = event_record(ctx, instant, stamp)
    return Line(render(record, ctx.rng), Valid(instant.date(), identity(record)))


def duplicate_pair(ctx: Day, instant: dt.datetime) -> list[Line]:
    """A retried write: the same event again, re-serialised with other key order and escapes."""
    rng = ctx.rng
    record = event_record(ctx, instant, event="page_view")
    record["payload"]["page"] = rng.choice([page for page in _PAGES if not page.isascii()])
    outcome = Valid(instant.date(), identity(record))
    original = json.dumps(record, ensure_ascii=False).encode()
    copy = json.dumps(_shuffled(record, rng), separators=(",", ":"), ensure_ascii=True).encode()
    return [Line(original, outcome), Line(copy, replace(outcome, duplicate=True))]
