"""The long-history benchmark shape: months of small hourly files (DESIGN §7, issue 16).

`generate_history` writes HISTORY_DAYS days of hourly landing files: most hours have a
`metrics-…` file (format C samples of every service) and/or an `events-…` file (format A
feature use and trace spans), a few hundred records an hour, ~21 files a day, with some lines
delivered twice (the same line again in the same file or in the next hour's file). Every record
is valid and its timestamp lies inside its file's hour, so each record's event day is its
file day. Generated once and cached behind a `_COMPLETE` marker written last.

`reference` is the DuckDB job on the same files: read every file, map metric samples to the
envelope the pipeline uses, drop duplicate records, write per-day aggregates (counts, DAU,
latency percentiles per service and feature) and the events.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import duckdb
import orjson

from telemetry_assets.devtools.benchmark.generate import FEATURES, MARKER, SERVICES

HISTORY_START = dt.date(2025, 1, 1)
HISTORY_DAYS = 144
METRIC_TYPES = ("latency", "error_rate", "throughput", "cpu", "memory")
REGIONS = ("eu-west-1", "us-east-1")


def history_days(start: dt.date = HISTORY_START, days: int = HISTORY_DAYS) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range(days)]


def _stamp(day: dt.date, hour: int, rng: random.Random, n: int) -> str:
    micros = rng.randrange(3_600_000_000)
    seconds, micro = divmod(micros, 1_000_000)
    base = f"{day.isoformat()}T{hour:02d}:{seconds // 60:02d}:{seconds % 60:02d}"
    if n % 3 == 0:
        return f"{base}.{micro:06d}Z"
    if n % 3 == 1:
        return f"{base}.{micro // 1000:03d}+00:00"
    return f"{base}Z"


def _metric_line(rng: random.Random, day: dt.date, hour: int, n: int) -> bytes:
    service = SERVICES[n % len(SERVICES)]
    metric = METRIC_TYPES[(n // len(SERVICES)) % len(METRIC_TYPES)]
    value = {
        "latency": round(rng.lognormvariate(4.0, 0.5), 3),
        "error_rate": round(rng.random() * 0.05, 5),
        "throughput": round(rng.uniform(50, 500), 2),
        "cpu": round(rng.uniform(0.05, 0.95), 4),
        "memory": round(rng.uniform(0.2, 0.9), 4),
    }[metric]
    sample: dict[str, object] = {
        "timestamp": _stamp(day, hour, rng, n),
        "service": service,
        "metric_type": metric,
        "value": value,
    }
    if n % 2:
        sample["tags"] = {"region": REGIONS[n % len(REGIONS)], "host": f"{service}-{n % 3}"}
    return orjson.dumps(sample)


def _event_line(rng: random.Random, day: dt.date, hour: int, n: int) -> bytes:
    if n % 4:
        payload: dict[str, object] = {
            "user_id": rng.randrange(5_000) if n % 3 else str(rng.randrange(5_000)),
            "session_id": f"s{rng.randrange(1 << 32):x}",
            "feature_id": FEATURES[n % len(FEATURES)],
            "latency_ms": round(rng.lognormvariate(4.5, 0.8), 3),
        }
        channel, event = "user", "feature_used"
    else:
        payload = {
            "service": SERVICES[n % len(SERVICES)],
            "latency_ms": round(rng.lognormvariate(4.0, 0.6), 3),
            "status": 200 if n % 40 else 500,
            "span_id": f"{rng.randrange(1 << 48):x}",
        }
        channel, event = "trace", "span"
    record = {
        "schema_version": "telemetry_event_v1",
        "channel": channel,
        "event": event,
        "timestamp": _stamp(day, hour, rng, n),
        "payload": payload,
    }
    return orjson.dumps(record)


def generate_history(
    folder: Path, start: dt.date = HISTORY_START, days: int = HISTORY_DAYS, seed: int = 7
) -> list[Path]:
    """The landing files of the history shape, generated unless a complete copy exists."""
    if (folder / MARKER).exists():
        return sorted(p for p in folder.glob("*.jsonl"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.jsonl"):
        stale.unlink()
    rng = random.Random(seed)
    files: list[Path] = []
    carried: dict[str, bytes] = {}  # a line the producer sends again in its next file
    for day in history_days(start, days):
        for hour in range(24):
            kinds = []
            roll = rng.random()
            if roll < 0.80:
                kinds.append("metrics")
            if roll > 0.12 and rng.random() < 0.12:
                kinds.append("events")
            for kind in kinds:
                count = rng.randint(60, 240) if kind == "metrics" else rng.randint(120, 360)
                make = _metric_line if kind == "metrics" else _event_line
                lines = [make(rng, day, hour, n) for n in range(count)]
                if kind in carried and rng.random() < 0.3:
                    lines.insert(rng.randrange(len(lines)), carried.pop(kind))
                for _ in range(rng.randrange(3)):
                    lines.insert(rng.randrange(len(lines)), rng.choice(lines))
                carried[kind] = rng.choice(lines)
                path = folder / f"{kind}-{day.isoformat()}T{hour:02d}.jsonl"
                path.write_bytes(b"\n".join(lines) + b"\n")
                files.append(path)
    (folder / MARKER).write_text(f"{len(files)} files\n")
    return files


SQL = """
SET threads = {threads};
SET TimeZone = 'UTC';
CREATE TABLE metric_raw AS
  SELECT * FROM read_json('{landing}/metrics-*.jsonl', format = 'newline_delimited',
    columns = {{timestamp: 'VARCHAR', service: 'VARCHAR', metric_type: 'VARCHAR',
               value: 'DOUBLE', tags: 'JSON'}});
CREATE TABLE event_raw AS
  SELECT * FROM read_json('{landing}/events-*.jsonl', format = 'newline_delimited',
    columns = {{schema_version: 'VARCHAR', channel: 'VARCHAR', event: 'VARCHAR',
               timestamp: 'VARCHAR', payload: 'JSON'}});
CREATE TABLE valid AS
  SELECT md5(concat_ws('|', 'm', timestamp, service, metric_type, value::VARCHAR,
                       coalesce(tags::VARCHAR, ''))) AS event_id,
         'metric' AS channel, metric_type AS event, timestamp::TIMESTAMPTZ AS ts,
         NULL::VARCHAR AS user_id, NULL::VARCHAR AS feature_id, service,
         CASE WHEN metric_type = 'latency' THEN value END AS latency_ms
  FROM metric_raw
  UNION ALL
  SELECT md5(concat_ws('|', schema_version, channel, event, timestamp, payload::VARCHAR)),
         channel, event, timestamp::TIMESTAMPTZ,
         payload ->> 'user_id', payload ->> 'feature_id', payload ->> 'service',
         TRY_CAST(payload ->> 'latency_ms' AS DOUBLE)
  FROM event_raw;
CREATE TABLE events AS
  SELECT DISTINCT ON (event_id) *, ts::DATE AS date FROM valid;
COPY events TO '{out}/events.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT date, count(*) AS events FROM events GROUP BY ALL ORDER BY date)
  TO '{out}/event_totals.parquet' (FORMAT parquet);
COPY (SELECT date, channel, event, count(*) AS events FROM events GROUP BY ALL)
  TO '{out}/event_counts.parquet' (FORMAT parquet);
COPY (SELECT date, feature_id, count(*) AS events, count(DISTINCT user_id) AS users FROM events
      WHERE feature_id IS NOT NULL GROUP BY ALL) TO '{out}/feature_usage.parquet' (FORMAT parquet);
COPY (SELECT date, count(DISTINCT user_id) AS dau FROM events GROUP BY ALL)
  TO '{out}/active_users.parquet' (FORMAT parquet);
COPY (SELECT date, service, count(*) AS count, quantile_cont(latency_ms, 0.5) AS p50,
             quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99,
             avg(latency_ms) AS mean, max(latency_ms) AS max
      FROM events WHERE service IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL)
  TO '{out}/latency_by_service.parquet' (FORMAT parquet);
COPY (SELECT date, feature_id, count(*) AS count, quantile_cont(latency_ms, 0.5) AS p50,
             quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99,
             avg(latency_ms) AS mean, max(latency_ms) AS max
      FROM events WHERE feature_id IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL)
  TO '{out}/latency_by_feature.parquet' (FORMAT parquet);
"""


def reference(landing: Path, out: Path, threads: int = 2) -> None:
    """The DuckDB job: every file read, duplicates dropped, per-day aggregates written."""
    out.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(SQL.format(landing=landing, out=out, threads=threads))


if __name__ == "__main__":
    reference(Path(sys.argv[1]), Path(sys.argv[2]))
