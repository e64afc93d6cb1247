"""The real `dagster` CLI materializes a landing folder; DuckDB reads the Parquet back."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from telemetry_assets_tests.factories import jsonl, metric_record, v1_record, write_file

REPO = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"

pytestmark = pytest.mark.slow


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TELEMETRY_LANDING_DIR": str(tmp_path / "landing"),
        "TELEMETRY_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "TELEMETRY_MAX_MALFORMED_RATIO": "0.5",
    }
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return subprocess.run(
        [str(DAGSTER), "asset", "materialize", "-m", "telemetry_assets.definitions", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def landing_folder(root: Path) -> None:
    write_file(
        root,
        "events-2025-03-01T10.jsonl",
        jsonl(
            v1_record(event="a", payload={"user_id": 1, "latency_ms": 5}),
            v1_record(event="a", payload={"user_id": 1, "latency_ms": 5}),
            "{not json",
        ),
    )
    write_file(
        root,
        "late/events-2025-03-03T01.jsonl.gz",
        jsonl(
            v1_record(event="late", timestamp="2025-03-02T23:59:59.5-00:30"),
        ),
    )
    write_file(
        root,
        "product-analytics-2025-03-02.csv",
        b"timestamp,user_id,feature_id,latency_ms\r\n2025-03-02T08:00:00,7,search,3\r\n",
    )
    write_file(
        root, "metrics-2025-03-02T08.jsonl", jsonl(metric_record(timestamp="2025-03-02T08:00:00Z"))
    )
    write_file(root, "README.txt", b"ignored")


def test_cli_range_then_single_partition(tmp_path):
    landing_folder(tmp_path / "landing")
    done = run_cli(tmp_path, "--select", "*", "--partition-range", "2025-03-01...2025-03-03")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    warehouse = tmp_path / "warehouse"
    con = duckdb.connect()
    per_day = con.execute(
        "select cast(date as varchar), count(*) from "
        f"read_parquet('{warehouse}/events/*/*.parquet', hive_partitioning=true) "
        "group by all order by 1"
    ).fetchall()
    assert per_day == [("2025-03-01", 1), ("2025-03-02", 2), ("2025-03-03", 1)]
    quarantined = con.execute(
        f"select source_file, source_line, reason, raw from '{warehouse}/quarantine/*/*.parquet'"
    ).fetchall()
    assert quarantined == [("events-2025-03-01T10.jsonl", 3, "invalid_json", "{not json")]
    ledger = con.execute(
        f"select cast(date as varchar), records_read, valid, duplicates_removed, quarantined "
        f"from '{warehouse}/ingest_stats/*/*.parquet' order by date"
    ).fetchall()
    assert ledger == [
        ("2025-03-01", 3, 1, 1, 1),
        ("2025-03-02", 2, 2, 0, 0),
        ("2025-03-03", 1, 1, 0, 0),
    ]
    columns = con.execute(f"describe select * from '{warehouse}/events/*/*.parquet'").fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("event_id", "VARCHAR"),
        ("schema_version", "VARCHAR"),
        ("channel", "VARCHAR"),
        ("event", "VARCHAR"),
        ("timestamp", "TIMESTAMP WITH TIME ZONE"),
        ("user_id", "VARCHAR"),
        ("session_id", "VARCHAR"),
        ("feature_id", "VARCHAR"),
        ("service", "VARCHAR"),
        ("latency_ms", "DOUBLE"),
        ("payload", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("source_line", "BIGINT"),
        ("date", "DATE"),  # the last one from the hive path
    ]

    single = run_cli(tmp_path, "--select", "*", "--partition", "2025-03-02")
    assert single.returncode == 0, single.stderr[-3000:]
    assert con.execute(
        f"select count(*) from '{warehouse}/events/date=2025-03-02/*.parquet'"
    ).fetchone() == (2,)


def test_cli_fails_fast_on_missing_landing_folder(tmp_path):
    done = run_cli(tmp_path, "--select", "*", "--partition", "2025-03-01")
    assert done.returncode != 0
    assert f"landing folder {tmp_path / 'landing'} does not exist" in done.stdout + done.stderr
    assert not (tmp_path / "warehouse" / "events").exists()
