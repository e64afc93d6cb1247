"""`make stack-test`: the scaled-out stack computes exactly what the embedded default computes.

1. writes demo landing days, materializes them in-process on local folders (the reference),
   and uploads the same files to the stack's landing prefix on S3 (moto's server);
2. brings the stack up (deploy/stack.py), stops the sensor and schedule so only the backfill
   runs, launches a backfill of the days through the webserver's GraphQL API (the daemon
   turns it into one run per range: BackfillPolicy.single_run), steps run on the two Celery
   workers; prints wall time and each worker's share of the steps;
3. copies the warehouse down from S3 and compares every Parquet table with the reference,
   row for row, order-insensitive;
4. backfills again and SIGKILLs the Celery worker (its whole process group) that is running a
   step: the broker hands the unacknowledged step to the other worker, the run finishes, the
   tables are equal to the reference again (nothing lost, nothing doubled);
5. tears everything down. Exit status 1 on any difference or failure.

    python deploy/stack_test.py [--days 7] [--start 2025-03-01] [--no-kill] [--keep-up]
    python deploy/stack_test.py --days 30 --no-reference   # `make stack-bench`: timing only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback_stack import lifecycle
from loopback_stack.dagster_processes import LOCATION_QUERY, graphql
from loopback_stack.processes import read_pid
from loopback_stack.settings import (
    BIN,
    DATA_DIR_SETTINGS,
    REPO,
    StackError,
    export_settings,
    paths,
    setting,
    stack_env,
)

from telemetry_assets.object_storage import copy_tree


def say(message: str) -> None:
    print(f"[stack-test] {message}", flush=True)


class Difference(AssertionError):
    pass


# ---------------------------------------------------------------- reference run


def write_landing(landing: Path, start: str, days: int, remote: str) -> None:
    """Demo files in a local folder (the reference reads them), copied to the stack's
    landing location (an s3:// prefix or a folder)."""
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "telemetry_assets.devtools.demo",
            "--landing",
            str(landing),
            "--start",
            start,
            "--days",
            str(days),
        ],
        cwd=REPO,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    copy_tree(str(landing), remote)
    say(f"copied the landing files to {remote}")


def reference_run(landing: Path, root: Path, first: str, last: str) -> float:
    """The embedded default: in-process executor, SQLite instance, local folders."""
    shutil.rmtree(root, ignore_errors=True)
    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEMETRY_", "DAGSTER_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DAGSTER_HOME=str(home),
        TELEMETRY_EXECUTOR="in_process",
        TELEMETRY_LANDING_DIR=str(landing),
        TELEMETRY_WAREHOUSE_DIR=str(root / "warehouse"),
        TELEMETRY_REPORTS_DIR=str(root / "reports"),
    )
    began = time.monotonic()
    with open(root / "run.log", "wb") as log:
        result = subprocess.run(
            [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "telemetry_assets.definitions",
                "--select",
                "*",
                "--partition-range",
                f"{first}...{last}",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise Difference(f"the in-process reference run failed; see {root / 'run.log'}")
    return time.monotonic() - began


# ---------------------------------------------------------------- comparing warehouses


def compare_warehouses(location: str, want: Path, scratch: Path) -> list[str]:
    """Every Parquet file of `want` exists at `location` (a folder or an s3:// prefix, copied
    down into `scratch` first) with the same schema and the same rows."""
    import polars as pl

    got = Path(location)
    if location.startswith("s3://"):
        shutil.rmtree(scratch, ignore_errors=True)
        copy_tree(location, str(scratch))
        got = scratch

    problems = []
    want_files = {p.relative_to(want) for p in want.rglob("*.parquet")}
    got_files = {p.relative_to(got) for p in got.rglob("*.parquet")}
    for missing in sorted(want_files - got_files):
        problems.append(f"missing on the stack: {missing}")
    for extra in sorted(got_files - want_files):
        problems.append(f"only on the stack: {extra}")
    tables = defaultdict(int)
    for rel in sorted(want_files & got_files):
        a, b = pl.read_parquet(got / rel), pl.read_parquet(want / rel)
        tables[rel.parts[0]] += b.height
        if a.schema != b.schema:
            problems.append(f"{rel}: schema differs: {a.schema} vs {b.schema}")
        elif a.height != b.height:
            problems.append(f"{rel}: {a.height} rows on the stack, {b.height} in-process")
        elif not a.hash_rows().sort().equals(b.hash_rows().sort()):
            problems.append(f"{rel}: same row count ({a.height}) but different rows")
    if not want_files:
        problems.append(f"the reference warehouse {want} has no Parquet files")
    summary = ", ".join(f"{t} {n}" for t, n in sorted(tables.items()))
    say(f"compared {len(want_files)} Parquet files in {len(tables)} tables (rows: {summary})")
    return problems


# ---------------------------------------------------------------- driving the stack


INSTIGATORS = (("sensor", "landing_sensor"), ("schedule", "daily_schedule"))
INSTIGATOR_QUERY = """query($s: %(Kind)sSelector!) { %(kind)sOrError(%(kind)sSelector: $s) {
  __typename ... on %(Kind)s { id %(kind)sState { status } } ... on PythonError { message } } }"""
STOP = """mutation($id: String!) { %(stop)s(id: $id) { __typename
  ... on %(Result)s { %(state)s { status } } ... on PythonError { message } } }"""
STOP_NAMES = {
    "sensor": {
        "stop": "stopSensor",
        "Result": "StopSensorMutationResult",
        "state": "instigationState",
    },
    "schedule": {
        "stop": "stopRunningSchedule",
        "Result": "ScheduleStateResult",
        "state": "scheduleState",
    },
}


def stop_instigators() -> None:
    """Only the backfill under test may launch runs: stop the landing sensor and the schedule.

    Through the webserver, so the stop lands in the instance the daemon reads, and checked:
    a sensor left running would see the landing files and materialize days around the range.
    """
    location = graphql(LOCATION_QUERY)["workspaceOrError"]["locationEntries"][0]["name"]
    for kind, name in INSTIGATORS:
        names = {"kind": kind, "Kind": kind.capitalize()}
        selector = {
            "repositoryName": "__repository__",
            "repositoryLocationName": location,
            f"{kind}Name": name,
        }
        found = graphql(INSTIGATOR_QUERY % names, {"s": selector})[f"{kind}OrError"]
        if found["__typename"] != kind.capitalize():
            raise Difference(f"{kind} {name} not found: {found}")
        if found[f"{kind}State"]["status"] != "STOPPED":
            stop = STOP_NAMES[kind]
            answer = graphql(STOP % stop, {"id": found["id"]})[stop["stop"]]
            state = (answer.get(stop["state"]) or {}).get("status")
            if state != "STOPPED":
                raise Difference(f"could not stop the {kind} {name}: {answer}")


ASSETS_QUERY = "{ assetNodes { assetKey { path } isPartitioned } }"
LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId }
  ... on PythonError { message } ... on InvalidSubsetError { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status runs { runId status } }
  ... on PythonError { message } } }"""


def launch_backfill(days: list[str]) -> str:
    """Exactly these days of every asset, as `dagster asset materialize --partition-range`.

    (`partitionNames` would also target the downstream days that the partition mappings
    reach, e.g. events of the day before and WAU/MAU weeks later.)"""
    nodes = graphql(ASSETS_QUERY)["assetNodes"]
    keys = [{"path": n["assetKey"]["path"]} for n in nodes if n["isPartitioned"]]
    days_range = {"range": {"start": days[0], "end": days[-1]}}
    selection = [{"assetKey": key, "partitions": days_range} for key in keys]
    data = graphql(LAUNCH, {"p": {"partitionsByAssets": selection, "title": "stack-test"}})
    answer = data["launchPartitionBackfill"]
    if answer["__typename"] != "LaunchBackfillSuccess":
        raise Difference(f"backfill not launched: {answer}")
    return answer["backfillId"]


def backfill_state(backfill_id: str) -> dict:
    answer = graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    if answer["__typename"] != "PartitionBackfill":
        raise Difference(f"backfill {backfill_id}: {answer}")
    return answer


TERMINAL_RUN = {"SUCCESS", "FAILURE", "CANCELED"}
DONE_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def wait_backfill(backfill_id: str, timeout: float, on_tick=None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = backfill_state(backfill_id)
        runs = state["runs"] or []
        if state["status"] in DONE_BACKFILL and all(r["status"] in TERMINAL_RUN for r in runs):
            return state
        if on_tick:
            on_tick(state)
        time.sleep(1)
    raise Difference(f"backfill {backfill_id} not finished within {timeout:.0f}s")


def step_placements(run_ids: list[str]) -> list[dict]:
    """Per step attempt: which Celery worker ran it and, for the attempt that finished, how
    long the step took (seconds None: unfinished or superseded), from the run's event log."""
    from dagster import DagsterEventType, DagsterInstance

    attempts = []
    with DagsterInstance.get() as instance:
        for run_id in run_ids:
            durations, workers = {}, defaultdict(list)
            for record in instance.all_logs(run_id):
                event = record.dagster_event
                if event is None:
                    continue
                if event.event_type == DagsterEventType.ENGINE_EVENT and (
                    "Executing steps" in (event.message or "")
                ):
                    meta = event.engine_event_data.metadata
                    host = meta.get("Celery worker")
                    workers[event.step_key].append(getattr(host, "value", host))
                elif event.event_type == DagsterEventType.STEP_SUCCESS:
                    durations[event.step_key] = event.event_specific_data.duration_ms / 1000
            for step, hosts in workers.items():
                for i, host in enumerate(hosts):
                    attempts.append(
                        {
                            "run": run_id,
                            "step": step,
                            "worker": host,
                            "seconds": durations.get(step) if i == len(hosts) - 1 else None,
                        }
                    )
    return attempts


def print_shares(attempts: list[dict], wall: float) -> None:
    per = defaultdict(lambda: [0, 0.0])
    for a in attempts:
        per[a["worker"]][0] += 1
        per[a["worker"]][1] += a["seconds"] or 0.0
    total = sum(n for n, _ in per.values()) or 1
    say(f"wall time {wall:.1f}s for {total} step executions")
    for worker, (n, busy) in sorted(per.items()):
        say(f"  {worker}: {n} steps ({100 * n / total:.0f} %), {busy:.1f}s in steps")


def run_backfill(days: list[str], timeout: float, on_tick=None) -> tuple[dict, float, str]:
    began = time.monotonic()
    backfill_id = launch_backfill(days)
    say(f"backfill {backfill_id} launched for {days[0]}..{days[-1]} ({len(days)} days)")
    state = wait_backfill(backfill_id, timeout, on_tick)
    wall = time.monotonic() - began
    statuses = {r["runId"]: r["status"] for r in state["runs"]}
    say(f"backfill {backfill_id}: {state['status']}, runs {statuses}")
    return state, wall, backfill_id


# ---------------------------------------------------------------- killing a worker


class WorkerKiller:
    """On the first step that a worker starts after `delay` seconds, SIGKILL that worker."""

    def __init__(self, delay: float):
        self.began = time.monotonic()
        self.delay = delay
        self.killed: tuple[str, str] | None = None

    def __call__(self, state: dict) -> None:
        if self.killed or time.monotonic() - self.began < self.delay:
            return
        running = [r["runId"] for r in state["runs"] or [] if r["status"] == "STARTED"]
        if not running:
            return
        attempts = step_placements(running)
        done = {a["step"] for a in attempts if a["seconds"] is not None}
        busy = [a for a in attempts if a["step"] not in done]
        if not busy:
            return
        victim = busy[-1]
        name = str(victim["worker"]).split("@", 1)[0]
        pid = read_pid(name)
        if pid is None:
            raise Difference(f"worker {name} has no live pid file")
        os.killpg(pid, signal.SIGKILL)
        self.killed = (name, victim["step"])
        say(f"SIGKILLed worker {name} (process group {pid}) while it ran step {victim['step']}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2025-03-01")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--no-kill", action="store_true", help="skip the killed-worker run")
    parser.add_argument("--keep-up", action="store_true", help="leave the stack running")
    parser.add_argument(
        "--no-reference", action="store_true", help="only time the backfill (no comparison)"
    )
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--storage",
        choices=["s3", "local"],
        default="s3",
        help="landing, warehouse and reports on the stack's S3 server (default) or in folders",
    )
    args = parser.parse_args(argv)

    first = dt.date.fromisoformat(args.start)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(args.days)]
    # A killed worker's step goes to the other worker after this many seconds; it must stay
    # above the slowest step (raw_events of 7 demo days: ~30 s here under load).
    os.environ.setdefault("TELEMETRY_CELERY_VISIBILITY_TIMEOUT", "60" if args.days <= 7 else "900")
    # The test empties its locations: always its own (the stack's own moto server, emptied
    # when it stops, or folders under the stack folder), never the user's.
    for name, sub in DATA_DIR_SETTINGS.items():
        os.environ[name] = (
            f"s3://{setting('TELEMETRY_S3_BUCKET')}/{sub}"
            if args.storage == "s3"
            else str(paths()["root"] / sub)
        )
    env = stack_env()
    export_settings(env)
    root = paths()["root"]
    landing = root / "landing-files"
    warehouse = env["TELEMETRY_WAREHOUSE_DIR"]
    copied = root / "warehouse-copy"
    reference = root / "reference"
    problems: list[str] = []
    began = time.monotonic()
    try:
        say("stopping any running stack; starting from an empty instance, landing and warehouse")
        lifecycle.down()
        # An earlier backfill left in the instance would resume and write into the warehouse.
        p = paths()
        local_dirs = [Path(env[n]) for n in DATA_DIR_SETTINGS if "://" not in env[n]]
        for folder in (*local_dirs, landing, p["pg"], p["home"]):
            shutil.rmtree(folder, ignore_errors=True)
        lifecycle.up()
        say(f"landing {env['TELEMETRY_LANDING_DIR']}, warehouse {warehouse}")
        stop_instigators()
        write_landing(landing, args.start, args.days, env["TELEMETRY_LANDING_DIR"])
        if not args.no_reference:
            seconds = reference_run(landing, reference, days[0], days[-1])
            say(f"in-process reference run on local folders: {seconds:.1f}s")

        state, wall, backfill_id = run_backfill(days, args.timeout)
        run_ids = [r["runId"] for r in state["runs"]]
        if any(r["status"] != "SUCCESS" for r in state["runs"]) or not run_ids:
            problems.append(f"backfill {backfill_id} did not succeed: {state}")
        attempts = step_placements(run_ids)
        print_shares(attempts, wall)
        if len({a["worker"] for a in attempts}) < 2:
            problems.append("the steps did not spread over both Celery workers")
        if not args.no_reference:
            problems += compare_warehouses(warehouse, reference / "warehouse", copied)
            if not problems:
                say("stack tables == in-process tables")

        if not args.no_kill and not args.no_reference:
            killer = WorkerKiller(delay=3)
            state, wall, backfill_id = run_backfill(days, args.timeout, on_tick=killer)
            run_ids = [r["runId"] for r in state["runs"]]
            attempts = step_placements(run_ids)
            print_shares(attempts, wall)
            if killer.killed is None:
                problems.append("no step was running long enough to kill its worker")
            else:
                name, step = killer.killed
                hosts = [str(a["worker"]).split("@")[0] for a in attempts if a["step"] == step]
                say(f"step {step} ran on {hosts} (killed worker: {name})")
                if len(hosts) < 2 or hosts[-1] == name:
                    problems.append(f"step {step} was not retried on another worker: {hosts}")
            if any(r["status"] != "SUCCESS" for r in state["runs"]):
                problems.append(f"backfill {backfill_id} with a killed worker: {state}")
            repeated = [a["step"] for a in attempts if a["seconds"] is not None]
            if len(repeated) != len(set(repeated)):
                problems.append("a step finished more than once")
            kill_problems = compare_warehouses(warehouse, reference / "warehouse", copied)
            problems += kill_problems
            if not kill_problems:
                say("after the killed worker: stack tables == in-process tables")
    except (Difference, StackError) as error:
        problems.append(str(error))
    finally:
        if not args.keep_up:
            lifecycle.down()
    say(f"total {time.monotonic() - began:.0f}s")
    for problem in problems:
        print(f"[stack-test] DIFFERENCE: {problem}", file=sys.stderr)
    say("FAILED" if problems else "PASSED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
