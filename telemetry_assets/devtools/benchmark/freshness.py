"""Freshness: how long a file that just landed takes to reach the tables and the dashboard.

Starts the real `dagster dev` (webserver + daemon, the real sensor) on temporary folders,
primes it with one day of history, then drops a new hourly file and polls until its records
are in `events`, its day's `ingest_stats` row counts them, and `dashboard.html` was rewritten.
Prints each time from the drop, and the run timeline from the instance (queued, started,
finished) so the minute can be split into sensor, queue, run start-up and assets.

`python -m telemetry_assets.devtools.benchmark.freshness [--rounds 3] [--keep DIR]`
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[3]
DAGSTER = Path(sys.executable).parent / "dagster"
TIMEOUT_S = 300.0
POLL_S = 0.25
# Daemon loops tightened for freshness (the defaults add several seconds each).
INSTANCE_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
sensors:
  use_threads: true
  num_workers: 2
telemetry:
  enabled: false
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _records(day: dt.date, hour: int, count: int, tag: str) -> bytes:
    lines = []
    for n in range(count):
        stamp = dt.datetime.combine(day, dt.time(hour), dt.UTC) + dt.timedelta(seconds=n)
        lines.append(
            json.dumps(
                {
                    "schema_version": "telemetry_event_v1",
                    "channel": "user",
                    "event": "click",
                    "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                    "payload": {"user_id": f"u{n % 50}", "feature_id": tag, "latency_ms": n % 90},
                }
            )
        )
    return ("\n".join(lines) + "\n").encode()


def _events_with(warehouse: Path, day: dt.date, tag: str) -> int:
    files = list((warehouse / "events" / f"date={day}").glob("*.parquet"))
    if not files:
        return 0
    return (
        pl.scan_parquet(files).filter(pl.col("feature_id") == tag).select(pl.len()).collect().item()
    )


def _stats_valid(warehouse: Path, day: dt.date) -> int:
    files = list((warehouse / "ingest_stats" / f"date={day}").glob("*.parquet"))
    return int(pl.read_parquet(files)["valid"].sum()) if files else 0


def _wait(condition, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        try:
            if condition():
                return time.monotonic()
        except (OSError, pl.exceptions.PolarsError):
            pass
        time.sleep(POLL_S)
    return None


def one_round(root: Path, landing: Path, warehouse: Path, dashboard: Path, n: int) -> dict:
    today = dt.datetime.now(dt.UTC).date()
    tag = f"fresh{n}"
    before_valid = _stats_valid(warehouse, today)
    before_dash = dashboard.stat().st_mtime_ns if dashboard.exists() else 0
    hidden = landing / f".events-{today}T{n % 24:02d}-bench{n}.jsonl"
    hidden.write_bytes(_records(today, dt.datetime.now(dt.UTC).hour, 200, tag))
    dropped = time.monotonic()
    hidden.rename(landing / hidden.name[1:])
    deadline = dropped + TIMEOUT_S
    reached = _wait(lambda: _events_with(warehouse, today, tag) == 200, deadline)
    counted = _wait(lambda: _stats_valid(warehouse, today) >= before_valid + 200, deadline)
    rewritten = _wait(
        lambda: dashboard.exists() and dashboard.stat().st_mtime_ns > before_dash, deadline
    )
    return {
        "events_s": None if reached is None else round(reached - dropped, 1),
        "ingest_stats_s": None if counted is None else round(counted - dropped, 1),
        "dashboard_s": None if rewritten is None else round(rewritten - dropped, 1),
    }


def run_timeline(home: Path) -> list[dict]:
    """Per run: seconds from creation to start and from start to end (from the instance)."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.get() as instance:
        rows = []
        for record in reversed(instance.get_run_records(limit=20)):
            created, started, ended = record.create_timestamp, record.start_time, record.end_time
            rows.append(
                {
                    "run": record.dagster_run.run_id[:8],
                    "status": record.dagster_run.status.value,
                    "queued_to_start_s": round(started - created.timestamp(), 1)
                    if started
                    else None,
                    "start_to_end_s": round(ended - started, 1) if started and ended else None,
                }
            )
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder to keep the run in (default: temp)")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="freshness-"))
    home, landing = root / "dagster_home", root / "landing"
    warehouse, reports = root / "warehouse", root / "reports"
    for folder in (home, landing):
        folder.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    (landing / f"events-{yesterday}T12-history.jsonl").write_bytes(
        _records(yesterday, 12, 2000, "history")
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TELEMETRY_LANDING_DIR": str(landing),
        "TELEMETRY_WAREHOUSE_DIR": str(warehouse),
        "TELEMETRY_REPORTS_DIR": str(reports),
        "TELEMETRY_START_DATE": str(yesterday - dt.timedelta(days=3)),
    }
    port = _free_port()
    server = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=(root / "dagster-dev.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        dashboard = reports / "dashboard.html"
        warm = _wait(lambda: dashboard.exists(), time.monotonic() + TIMEOUT_S)
        print(f"dagster dev up and history processed: {'yes' if warm else 'no (timeout)'}")
        results = [one_round(root, landing, warehouse, dashboard, n) for n in range(args.rounds)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    print(f"{'round':<6}{'events s':>10}{'ingest_stats s':>16}{'dashboard s':>13}")
    for n, row in enumerate(results):
        print(
            f"{n:<6}{row['events_s']!s:>10}{row['ingest_stats_s']!s:>16}{row['dashboard_s']!s:>13}"
        )
    timeline = run_timeline(home)
    print("runs (queued -> started -> finished):")
    for row in timeline:
        print(f"  {row}")
    (root / "freshness.json").write_text(
        json.dumps({"rounds": results, "runs": timeline}, indent=1)
    )
    print(f"results: {root / 'freshness.json'}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(all(v is not None for v in r.values()) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
