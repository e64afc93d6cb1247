"""A benchmark day: N valid `telemetry_event_v1` records in 24 hourly files (~220 bytes/line).

Generated once per (day, N) and cached: a `_COMPLETE` marker is written last, so a killed
generation is redone. Timestamp styles and payload shapes vary like the demo data.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import orjson

HOURS = 24
FEATURES = ("search", "export", "dashboard", "share", "alerts", "settings", "import", "reports")
SERVICES = ("api", "auth", "billing", "search-svc")
MARKER = "_COMPLETE"
CHUNK = 50_000


def _record(rng: random.Random, day: dt.date, hour: int, n: int) -> bytes:
    second = rng.randrange(3600)
    base = f"{day.isoformat()}T{hour:02d}:{second // 60:02d}:{second % 60:02d}"
    style = n % 4
    if style == 0:
        stamp = f"{base}.{n % 1_000_000:06d}Z"
    elif style == 1:
        stamp = f"{base}.{n % 1000:03d}"
    elif style == 2:
        stamp = f"{base}.{n % 1_000_000:06d}+00:00"
    else:
        stamp = f"{base}.{n % 10**9:09d}Z"
    kind = n % 10
    if kind < 6:
        payload = {
            "user_id": rng.randrange(200_000) if n % 3 else str(rng.randrange(200_000)),
            "session_id": f"s{n:x}",
            "feature_id": FEATURES[n % len(FEATURES)],
            "latency_ms": round(rng.lognormvariate(4.5, 0.8), 3),
            "client": ("web", "ios", "android")[n % 3],
        }
        channel, event = "user", "feature_used"
    elif kind < 9:
        payload = {
            "service": SERVICES[n % len(SERVICES)],
            "latency_ms": round(rng.lognormvariate(4.0, 0.6), 3),
            "status": 200 if n % 50 else 500,
            "span_id": f"{n:x}",
        }
        channel, event = "trace", "span"
    else:
        payload = {"user_id": str(rng.randrange(200_000)), "page": "/reports", "seq": n}
        channel, event = "user", "page_view"
    record = {
        "schema_version": "telemetry_event_v1",
        "channel": channel,
        "event": event,
        "timestamp": stamp,
        "payload": payload,
    }
    if n % 2:
        record = dict(reversed(record.items()))
    return orjson.dumps(record)


def generate_day(folder: Path, day: dt.date, events: int, seed: int = 1) -> list[Path]:
    """The landing files of the benchmark day, generated unless a complete copy exists."""
    files = [folder / f"events-{day.isoformat()}T{hour:02d}.jsonl" for hour in range(HOURS)]
    if (folder / MARKER).exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_hour = [events // HOURS + (1 if h < events % HOURS else 0) for h in range(HOURS)]
    n = 0
    for hour, (path, count) in enumerate(zip(files, per_hour, strict=True)):
        with path.open("wb") as handle:
            for start in range(0, count, CHUNK):
                lines = [_record(rng, day, hour, n + i) for i in range(min(CHUNK, count - start))]
                n += len(lines)
                handle.write(b"\n".join(lines) + b"\n")
    (folder / MARKER).write_text(f"{events}\n")
    return files
