"""Nothing lost, nothing doubled: re-runs, growing files, killed runs and concurrent runs."""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from telemetry_assets.definitions import ASSETS
from telemetry_assets.devtools.demo import generate_landing
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS
from telemetry_assets_tests.factories import jsonl, v1_record, write_file

REPO = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"
FIRST, LAST = "2025-03-01", "2025-03-02"
# Every table the pipeline writes, reports aside (they are files for people, not tables).
TABLES = tuple(
    key.path[-1]
    for asset in ASSETS
    for key in asset.keys
    if asset.group_names_by_key[key] != "reports"
)


def snapshot(warehouse: Path) -> dict[str, pl.DataFrame]:
    tables = {}
    for name in TABLES:
        files = sorted((warehouse / name).glob("date=*/*.parquet"))
        frame = pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()
        tables[name] = frame.sort(frame.columns) if files else frame
    return tables


def assert_same(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    for name in TABLES:
        assert left[name].equals(right[name]), name


def leftovers(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*.tmp")]


@pytest.mark.slow
def test_materializing_twice_gives_identical_tables(pipeline):
    generate_landing(pipeline.landing, dt.date(2025, 3, 1), days=2, events_per_hour=10)
    assert pipeline.materialize(FIRST, LAST).success
    first = snapshot(pipeline.warehouse)
    assert pipeline.materialize(FIRST, LAST).success
    assert_same(first, snapshot(pipeline.warehouse))
    assert pipeline.materialize(LAST).success
    assert_same(first, snapshot(pipeline.warehouse))


def test_a_growing_file_replaces_its_rows(pipeline):
    path = write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(*(v1_record(event=f"e{i}") for i in range(3))),
    )
    assert pipeline.materialize(FIRST).success
    with path.open("ab") as handle:  # the writer appends another batch
        handle.write(jsonl(*(v1_record(event=f"late{i}") for i in range(2))))
    os.utime(path, ns=(2 * 10**18, 2 * 10**18))
    assert pipeline.materialize(FIRST).success
    assert pipeline.table(EVENTS).height == 5
    assert pipeline.table(INGEST_STATS)["records_read"].to_list() == [5]


def cli(warehouse: Path, landing: Path, home: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TELEMETRY_LANDING_DIR": str(landing),
        "TELEMETRY_WAREHOUSE_DIR": str(warehouse),
        "TELEMETRY_REPORTS_DIR": str(warehouse.parent / f"{warehouse.name}-reports"),
    }
    home.mkdir(exist_ok=True)
    return subprocess.Popen(
        [
            str(DAGSTER),
            "asset",
            "materialize",
            "-m",
            "telemetry_assets.definitions",
            "--select",
            "*",
            "--partition-range",
            f"{FIRST}...{LAST}",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors[-3000:]


@pytest.fixture(scope="module")
def landing_and_clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability")
    generate_landing(root / "landing", dt.date(2025, 3, 1), days=2, events_per_hour=400)
    finish(cli(root / "clean", root / "landing", root / "home"))
    return root, snapshot(root / "clean")


def every_parquet_reads(root: Path) -> None:
    for path in root.rglob("*.parquet"):
        pl.read_parquet_schema(path)  # a half-written file has no valid footer


@pytest.mark.slow
@pytest.mark.parametrize("delays", [(2.0, 5.0, 9.0, 14.0)])
def test_killed_runs_then_a_rerun_equal_a_clean_run(landing_and_clean, delays):
    root, clean = landing_and_clean
    warehouse = root / "crashed"
    for delay in delays:  # spread over start-up, parsing, Parquet writing and later assets
        process = cli(warehouse, root / "landing", root / "home")
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        every_parquet_reads(warehouse)
    finish(cli(warehouse, root / "landing", root / "home"))
    assert_same(clean, snapshot(warehouse))
    assert leftovers(warehouse, warehouse.parent / "crashed-reports") == []


@pytest.mark.slow
def test_concurrent_runs_and_readers_stay_consistent(landing_and_clean):
    root, clean = landing_and_clean
    warehouse = root / "concurrent"
    failures: list[str] = []
    done = threading.Event()

    def read_while_writing() -> None:
        while not done.is_set():
            for path in (warehouse / "events").glob("date=*/*.parquet"):
                try:
                    pl.read_parquet(path)
                except FileNotFoundError:
                    continue  # replaced between listing and opening: fine
                except Exception as error:
                    failures.append(f"{path}: {error}")
            time.sleep(0.05)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        runs = [cli(warehouse, root / "landing", root / f"home{n}") for n in range(2)]
        for run in runs:
            finish(run)
    finally:
        done.set()
        reader.join()
    assert failures == []
    assert_same(clean, snapshot(warehouse))
