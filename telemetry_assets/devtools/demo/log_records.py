"""Service log records (format D) for the demo: a handful of message templates with changing
values, so the log-pattern miner has real patterns to find, and two broken records a day.

Log records draw from their own random stream, so adding them changes no other demo file.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .model import File, Line, Quarantined, Valid
from .records import SERVICES, envelope, exact_stamp, identity, midnight, render

LOG_HOURS = (2, 8, 14, 20)
LEVEL_EVENTS = {"info": "INFO", "warn": "WARNING", "error": "ERROR", "fatal": "CRITICAL"}
_TEMPLATES = (
    ("info", "user {user} logged in from 10.0.{a}.{b}"),
    ("info", "GET /api/v1/orders/{order} 200 in {ms} ms"),
    ("warn", "slow query on table orders took {ms} ms"),
    ("error", "payment {order} failed: card declined"),
    ("error", "connection to db-{a} refused after {b} retries"),
    ("fatal", "worker {b} out of memory, restarting"),
)


def _record(rng: random.Random, instant: dt.datetime) -> dict[str, Any]:
    level, template = rng.choice(_TEMPLATES)
    message = template.format(
        user=rng.randint(1000, 9999),
        a=rng.randint(0, 9),
        b=rng.randint(1, 9),
        order=rng.randint(10_000, 99_999),
        ms=rng.randint(5, 5_000),
    )
    record: dict[str, Any] = {
        "ts": exact_stamp(rng, instant, ("Z", "Z", "+02:00")),
        "service": rng.choice(SERVICES),
        "level": level.upper() if rng.random() < 0.3 else level,
        "message": message,
    }
    if rng.random() < 0.5:
        record["context"] = {"host": f"{record['service']}-{rng.randint(1, 3)}"}
    return record


def _as_v1(record: dict[str, Any]) -> dict[str, Any]:
    payload = {**record.get("context", {}), "service": record["service"]}
    payload["message"] = record["message"]
    event = LEVEL_EVENTS[record["level"].lower()]
    return envelope("log", event, record["ts"], payload)


def logs_file(day: dt.date, hour: int, count: int) -> File:
    """One hour's log file: `count` valid records, plus a record without a level and one with
    an empty level in the first hour of the day."""
    rng = random.Random(f"logs-{day}-{hour}")
    start = midnight(day) + dt.timedelta(hours=hour)
    lines = []
    for n in range(count):
        instant = start + dt.timedelta(seconds=n * 3600 // count, microseconds=rng.randint(1, 999))
        record = _record(rng, instant)
        lines.append(Line(render(record, rng), Valid(instant.date(), identity(_as_v1(record)))))
    if hour == LOG_HOURS[0]:
        broken = _record(rng, start)
        lines.append(Line(render({**broken, "level": " "}, rng), Quarantined("empty_event")))
        del broken["level"]
        lines.append(Line(render(broken, rng), Quarantined("missing_field")))
    return File(f"logs-{day}T{hour:02d}.jsonl", day, lines)
