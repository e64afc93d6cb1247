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
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # DAGSTER_HOME must be absolute
    runs = args.runs.split(",")
    measurements, answers = [], {}
    for size in (int(s) for s in args.sizes.split(",")):
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
    (args.out / "results.json").write_text(text)
    history = args.out / "history"
    history.mkdir(exist_ok=True)
    (history / f"results-{str(report['when']).replace(':', '')}.json").write_text(text)
    print(f"\nresults: {args.out / 'results.json'}")
    for size, checked in answers.items():
        for key, value in checked.items():
            print(f"{size:>12,} {key:<20} equal={value['equal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
