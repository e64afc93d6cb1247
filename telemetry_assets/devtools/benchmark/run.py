"""`make bench`: wall time and peak memory of this pipeline, a DuckDB reference and a floor.

All three read the same generated day in the same invocation, each in its own process tree
whose resident memory is sampled from /proc (parent plus worker processes, summed). Results
are printed as a table and written to `<out>/results.json` (history in `<out>/history/`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from telemetry_assets.devtools.benchmark.generate import generate_day

SELECTION = [
    "raw_events",
    "events",
    "quarantine",
    "ingest_stats",
    "event_counts",
    "feature_usage",
    "daily_users",
    "active_users",
    "latency_by_feature",
    "latency_by_service",
]
DAY = "2025-03-01"
SAMPLE_SECONDS = 0.05


@dataclass
class Measurement:
    name: str
    events: int
    seconds: float
    peak_rss_mb: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry))
    return tree


def tree_rss_bytes(root: int) -> int:
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError):
            continue
    return total


def measure(name: str, events: int, command: list[str], env: dict[str, str]) -> Measurement:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{errors.decode()[-4000:]}")
    return Measurement(name, events, seconds, peak / 2**20)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql}")
    return row[0]


def compare(warehouse: Path, reference: Path) -> dict[str, object]:
    """The pipeline's answers next to the reference's: counts, DAU, service percentiles."""
    con = duckdb.connect()
    ours = f"'{warehouse}/{{}}/date={DAY}/*.parquet'"
    theirs = f"'{reference}/{{}}.parquet'"
    answers = {
        "events": ("select count(*) from {}", "events"),
        "dau": ("select dau from {}", "active_users"),
    }
    result: dict[str, object] = {}
    for key, (sql, table) in answers.items():
        mine = _scalar(con, sql.format(ours.format(table)))
        ref = _scalar(con, sql.format(theirs.format(table)))
        result[key] = {"pipeline": mine, "duckdb": ref, "equal": mine == ref}
    query = "select service, count, p50, p95, p99, max from {} order by service"
    mine = con.execute(query.format(ours.format("latency_by_service"))).fetchall()
    ref = con.execute(query.format(theirs.format("latency_by_service"))).fetchall()
    result["latency_by_service"] = {
        "equal": len(mine) == len(ref)
        and all(
            a[0] == b[0]
            and a[1] == b[1]
            and all(abs(x - y) < 1e-6 for x, y in zip(a[2:], b[2:], strict=True))
            for a, b in zip(mine, ref, strict=True)
        ),
        "pipeline": mine,
        "duckdb": ref,
    }
    return result


def bench_size(out: Path, events: int, runs: list[str]) -> tuple[list[Measurement], dict]:
    landing = out / f"landing-{events}"
    print(f"generating (cached) {events:,} events in {landing} ...", flush=True)
    files = generate_day(landing, dt.date.fromisoformat(DAY), events)
    python = sys.executable
    env = {**os.environ, "TELEMETRY_MAX_MALFORMED_RATIO": "0.01"}
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    results = []
    commands = {
        "floor (read bytes)": [
            python,
            "-c",
            "import sys\nfor p in sys.argv[1:]: open(p,'rb').read()",
            *map(str, files),
        ],
        "duckdb reference": [
            python,
            "-m",
            "telemetry_assets.devtools.benchmark.reference",
            f"{landing}/*.jsonl",
            str(work / "reference"),
            DAY,
        ],
        "pipeline in-process": [
            python,
            "-m",
            "telemetry_assets.devtools.benchmark.inprocess",
            str(landing),
            str(work / "inprocess"),
            DAY,
        ],
        "pipeline CLI": [
            str(Path(python).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "telemetry_assets.definitions",
            "--select",
            ",".join(SELECTION),
            "--partition",
            DAY,
        ],
    }
    cli_env = {
        **env,
        "TELEMETRY_LANDING_DIR": str(landing),
        "TELEMETRY_WAREHOUSE_DIR": str(work / "cli"),
        "DAGSTER_HOME": str(work / "home"),
    }
    (work / "home").mkdir(parents=True, exist_ok=True)
    for name, command in commands.items():
        if not any(name.startswith(r) for r in runs):
            continue
        print(f"  running {name} ...", flush=True)
        results.append(measure(name, events, command, cli_env if "CLI" in name else env))
        print(
            f"    {results[-1].seconds:.1f} s, peak RSS {results[-1].peak_rss_mb:.0f} MB",
            flush=True,
        )
    answers = {}
    if "pipeline" in runs and "duckdb" in runs:
        answers = compare(work / "inprocess", work / "reference")
    return results, answers


def table(rows: list[Measurement]) -> str:
    by_size: dict[int, dict[str, Measurement]] = {}
    for row in rows:
        by_size.setdefault(row.events, {})[row.name] = row
    lines = [
        f"{'run':<22}{'events':>12}{'wall s':>9}{'peak RSS MB':>13}{'events/s':>12}{'/ duckdb':>10}"
    ]
    for events, named in by_size.items():
        reference = named.get("duckdb reference")
        for row in named.values():
            ratio = f"{row.seconds / reference.seconds:.2f}" if reference else "-"
            lines.append(
                f"{row.name:<22}{events:>12,}{row.seconds:>9.1f}{row.peak_rss_mb:>13.0f}"
                f"{row.events_per_second:>12,.0f}{ratio:>10}"
            )
    return "\n".join(lines)


def compare_history(warehouse: Path, reference: Path) -> dict[str, object]:
    """Per day: event counts, DAU and per-service latency percentiles of both, equal or not."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ours = f"read_parquet('{warehouse}/{{}}/date=*/*.parquet', hive_partitioning = false)"
    theirs = f"'{reference}/{{}}.parquet'"
    result: dict[str, object] = {}
    queries = {
        "events": (
            f"select timestamp::date, count(*) from {ours.format('events')} group by 1 order by 1",
            f"select date, events from {theirs.format('event_totals')} order by 1",
        ),
        "dau": (
            f"select date, dau from {ours.format('active_users')} where dau > 0 order by 1",
            f"select date, dau from {theirs.format('active_users')} where dau > 0 order by 1",
        ),
    }
    for key, (mine_sql, ref_sql) in queries.items():
        mine, ref = con.execute(mine_sql).fetchall(), con.execute(ref_sql).fetchall()
        result[key] = {
            "days": len(ref),
            "total_pipeline": sum(int(r[-1]) for r in mine),
            "total_duckdb": sum(int(r[-1]) for r in ref),
            "equal": mine == ref,
        }
    query = "select date, service, count, p50, p95, p99, max from {} order by date, service"
    mine = con.execute(query.format(ours.format("latency_by_service"))).fetchall()
    ref = con.execute(query.format(theirs.format("latency_by_service"))).fetchall()
    result["latency_by_service"] = {
        "rows": len(ref),
        "equal": len(mine) == len(ref)
        and all(
            a[:3] == b[:3] and all(abs(x - y) < 1e-6 for x, y in zip(a[3:], b[3:], strict=True))
            for a, b in zip(mine, ref, strict=True)
        ),
    }
    return result


def bench_history(out: Path, runs: list[str], days: int) -> tuple[list[Measurement], dict]:
    """The long history of small files: every asset, and ingest + metrics, next to DuckDB."""
    from telemetry_assets.devtools.benchmark import history

    landing = out / f"landing-history-{days}"
    print(f"generating (cached) {days} days of hourly files in {landing} ...", flush=True)
    files = history.generate_history(landing, days=days)
    records = sum(p.read_bytes().count(b"\n") for p in files)
    first, last = history.history_days(days=days)[0], history.history_days(days=days)[-1]
    print(f"  {len(files):,} files, {records:,} records, {first} .. {last}", flush=True)
    python = sys.executable
    work = out / "work-history"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "TELEMETRY_MAX_MALFORMED_RATIO": "0.01"}
    commands: dict[str, list[str]] = {
        "duckdb reference": [
            python,
            "-m",
            "telemetry_assets.devtools.benchmark.history",
            str(landing),
            str(work / "reference"),
        ]
    }
    # The floors run first: Dagster's own cost for each selection and range, next to DuckDB's.
    selections = ("ingest+metrics", "all")
    scopes = {f"floor {scope} (dagster, no-op graph)": f"floor-{scope}" for scope in selections}
    scopes |= {f"pipeline {scope}": scope for scope in selections}
    for name, scope in scopes.items():
        commands[name] = [
            python,
            "-m",
            "telemetry_assets.devtools.benchmark.history_run",
            str(landing),
            str(work / scope),
            first.isoformat(),
            last.isoformat(),
            scope,
            str(work / f"steps-{scope}.json"),
        ]
    results, steps = [], {}
    for name, command in commands.items():
        if not any(name.startswith(r) for r in runs):
            continue
        print(f"  running {name} ...", flush=True)
        results.append(measure(name, records, command, env))
        print(
            f"    {results[-1].seconds:.1f} s, peak RSS {results[-1].peak_rss_mb:.0f} MB",
            flush=True,
        )
        scope = scopes.get(name, "")
        if (work / f"steps-{scope}.json").exists():
            steps[scope] = json.loads((work / f"steps-{scope}.json").read_text())
            slowest = sorted(steps[scope].items(), key=lambda kv: -kv[1])[:12]
            print("    " + ", ".join(f"{k} {v:.1f}" for k, v in slowest), flush=True)
    answers: dict[str, object] = {"files": len(files), "days": days, "steps": steps}
    if "pipeline" in runs and "duckdb" in runs:
        answers |= compare_history(work / "all" / "warehouse", work / "reference")
    return results, answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument(
        "--sizes",
        default="2500000,10000000",
        help="comma-separated events per day, e.g. 2500000,10000000",
    )
    parser.add_argument(
        "--runs", default="floor,duckdb,pipeline", help="which runs: floor, duckdb, pipeline"
    )
    parser.add_argument(
        "--shape",
        choices=("day", "history"),
        default="day",
        help="day: one big day per size; history: months of small hourly files",
    )
    parser.add_argument("--days", type=int, default=144, help="days of the history shape")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # DAGSTER_HOME must be absolute
    runs = args.runs.split(",")
    measurements: list[Measurement] = []
    answers: dict[object, dict] = {}
    if args.shape == "history":
        rows, checked = bench_history(args.out, runs, args.days)
        measurements += rows
        answers["history"] = checked
        print(table(measurements), flush=True)
    for size in (int(s) for s in args.sizes.split(",")) if args.shape == "day" else ():
        rows, checked = bench_size(args.out, size, runs)
        measurements += rows
        answers[size] = checked
        print(table(measurements), flush=True)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "measurements": [
            asdict(m) | {"events_per_second": m.events_per_second} for m in measurements
        ],
        "answers": answers,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str)
    name = "results.json" if args.shape == "day" else "results-history.json"
    (args.out / name).write_text(text)
    history = args.out / "history"
    history.mkdir(exist_ok=True)
    (history / f"{Path(name).stem}-{str(report['when']).replace(':', '')}.json").write_text(text)
    print(f"\nresults: {args.out / name}")
    for shape, checked in answers.items():
        for key, found in checked.items():
            if isinstance(found, dict) and "equal" in found:
                print(f"{shape!s:>12} {key:<20} equal={found['equal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
