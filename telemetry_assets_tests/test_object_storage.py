"""The landing folder, warehouse and reports on S3-compatible storage (moto's server on loopback).

The same demo days run once on local folders and once with every folder on `s3://`; the bucket
is then copied down and both warehouses are read by DuckDB, table by table: equal. Bad object
storage settings (missing bucket, no server, refused credentials) fail before anything is
written, naming what to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import duckdb
import pytest

from telemetry_assets import object_storage, staging, warehouse
from telemetry_assets.definitions import ASSETS, CHECKS
from telemetry_assets.defs import sensors
from telemetry_assets.defs.resources import LandingZone, ReportsStore, Warehouse
from telemetry_assets.devtools.demo.landing import generate_landing
from telemetry_assets.landing.files import scan_landing
from telemetry_assets.retention import delete_partition
from telemetry_assets.schemas.tables import TABLES
from telemetry_assets_tests.conftest import WITHOUT_REPORTS, Pipeline

pytestmark = pytest.mark.service

BUCKET = "telemetry-test"
FIRST, LAST = "2025-03-01", "2025-03-02"
MOTO = Path(sys.executable).with_name("moto_server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """moto's S3 server in its own process on a free loopback port."""

    def __init__(self, **env: str):
        self.url = f"http://127.0.0.1:{_free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", port],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start within 30 s") from None
                time.sleep(0.1)

    def client(self, service: str, key: str = "test", secret: str = "test"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _aws_env(url: str, key: str = "test", secret: str = "test") -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
    }


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoServer]:
    server = MotoServer()
    server.client("s3").create_bucket(Bucket=BUCKET)
    saved = {k: os.environ.get(k) for k in _aws_env("")}
    os.environ.update(_aws_env(server.url))
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def _tables(root: Path) -> dict[str, list[tuple]]:
    """Every table's rows, read by DuckDB from the Parquet files, in one stable order."""
    found = {}
    with duckdb.connect() as db:
        for name in TABLES:
            files = sorted(str(p) for p in (root / name).glob("date=*/*.parquet"))
            if files:
                rows = db.sql(f"select * from read_parquet({files!r})").fetchall()
                found[name] = sorted(rows, key=repr)
    return found


def _s3_resources(prefix: str, landing: str) -> dict[str, dg.ConfigurableResource]:
    return {
        **Pipeline(landing=Path("unused"), warehouse=Path("unused")).resources(),
        "landing": LandingZone(landing_dir=landing),
        "warehouse_store": Warehouse(warehouse_dir=f"{prefix}/warehouse"),
        "reports": ReportsStore(reports_dir=f"{prefix}/reports"),
    }


def test_pipeline_on_object_storage_equals_local_folders(s3: MotoServer, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate_landing(landing, dt.date.fromisoformat(FIRST), 2, events_per_hour=40)
    local = Pipeline(landing=landing, warehouse=tmp_path / "warehouse")
    local.materialize(FIRST, LAST)

    prefix = f"s3://{BUCKET}/equal"
    object_storage.copy_tree(str(landing), f"{prefix}/landing")
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        selection=WITHOUT_REPORTS,
        tags={
            "dagster/asset_partition_range_start": FIRST,
            "dagster/asset_partition_range_end": LAST,
        },
        resources=_s3_resources(prefix, f"{prefix}/landing"),
    )
    assert result.success
    object_storage.copy_tree(f"{prefix}/warehouse", str(tmp_path / "from-s3"))

    on_s3, on_disk = _tables(tmp_path / "from-s3"), _tables(tmp_path / "warehouse")
    assert on_s3.keys() == on_disk.keys()
    assert {"events", "quarantine", "raw_events", "ingest_stats"} <= on_s3.keys()
    for name in on_disk:
        assert on_s3[name] == on_disk[name], name
    # Nothing but finished objects: no temporaries, no lock files.
    keys = object_storage.resolve(f"{prefix}/warehouse").fs.find(f"{BUCKET}/equal/warehouse")
    assert keys and all(k.endswith(".parquet") for k in keys)


def test_sensor_sweeps_a_bucket_a_page_per_tick_and_sees_a_rewrite(
    s3: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"s3://{BUCKET}/sensor/landing"
    landing = tmp_path / "landing"
    generate_landing(landing, dt.date.fromisoformat(FIRST), 1, events_per_hour=5)
    object_storage.copy_tree(str(landing), prefix)
    root = object_storage.resolve(prefix)
    for ignored in (".uploading/events-2025-03-01T05.jsonl", "a/b/events-2025-03-01T06.jsonl"):
        (root / ignored).write_bytes(b"{}\n")  # hidden or two folders down: never read
    scan, local = scan_landing(root), scan_landing(landing)
    assert [(f.rel_path, f.fmt, f.file_day) for f in scan.files] == [
        (f.rel_path, f.fmt, f.file_day) for f in local.files
    ]
    assert scan.skipped == local.skipped

    page = 10
    monkeypatch.setattr(sensors, "MAX_KEYS_PER_TICK", page)
    resources = {"landing": LandingZone(landing_dir=prefix)}
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            result = sensors.landing_sensor(context)
            if isinstance(result, dg.SkipReason):
                return [], cursor
            return list(result.run_requests or []), result.cursor

        def sweep(cursor: str | None) -> tuple[int, str | None]:
            """Ticks until the listing wraps around; how many asked for a run."""
            asked = 0
            for _ in range(len(scan.files) // page + 3):
                requests, cursor = tick(cursor)
                asked += len(requests)
                if not json.loads(cursor or "{}").get("listed"):
                    return asked, cursor
            raise AssertionError("the sweep did not wrap around")

        asked, cursor = sweep(None)
        assert asked >= len(scan.files) // page  # one run per page that held new files
        assert set(json.loads(cursor)["files"]) == {f.rel_path for f in scan.files}
        assert sweep(cursor)[0] == 0  # nothing changed: a quiet sweep
        time.sleep(1.1)  # object last-modified times have whole seconds
        changed = scan.files[-1]
        changed.path.write_bytes(changed.path.read_bytes() + b"\n")
        asked, after = sweep(cursor)
    assert asked == 1
    before, now = (json.loads(c)["files"][changed.rel_path] for c in (cursor, after))
    assert before != now


def test_retention_deletes_a_day_of_objects(s3: MotoServer) -> None:
    root = object_storage.resolve(f"s3://{BUCKET}/retention/warehouse")
    day = dt.date(2025, 3, 1)
    for name in ("a.parquet", "b.parquet"):
        warehouse.write_bytes_atomic(warehouse.partition_dir(root, "raw_events", day) / name, b"x")
    deleted = delete_partition(root, "raw_events", day)
    assert deleted is not None and (deleted.files, deleted.bytes) == (2, 2)
    assert warehouse.written_days(root, TABLES["raw_events"]) == []
    assert delete_partition(root, "raw_events", day) is None


@pytest.mark.parametrize("case", ["missing bucket", "no server", "wrong key", "wrong secret"])
def test_bad_object_storage_settings_fail_at_start_naming_the_fix(case: str) -> None:
    """Refused credentials need a server that checks them: moto with IAM auth switched on after
    the four set-up calls (bucket, user, policy, key)."""
    server = MotoServer(INITIAL_NO_AUTH_ACTION_COUNT="4")
    try:
        server.client("s3").create_bucket(Bucket=BUCKET)
        iam = server.client("iam")
        iam.create_user(UserName="pipeline")
        policy = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        iam.put_user_policy(
            UserName="pipeline",
            PolicyName="s3",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
        )
        key = iam.create_access_key(UserName="pipeline")["AccessKey"]
        good = _aws_env(server.url, key["AccessKeyId"], key["SecretAccessKey"])
        url, env, expected = {
            "missing bucket": ("s3://no-such-bucket/w", good, "create the bucket"),
            "no server": (
                f"s3://{BUCKET}/w",
                {**good, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}"},
                "no S3 server answers",
            ),
            "wrong key": (
                f"s3://{BUCKET}/w",
                {**good, "AWS_ACCESS_KEY_ID": "AKIANOTAKEY"},
                "refused the credentials",
            ),
            "wrong secret": (
                f"s3://{BUCKET}/w",
                {**good, "AWS_SECRET_ACCESS_KEY": "not-the-secret"},
                "refused the credentials",
            ),
        }[case]
        with pytest.MonkeyPatch.context() as patch:
            for name, value in good.items():
                patch.setenv(name, value)
            good_url = object_storage.resolve(f"s3://{BUCKET}/w")
            object_storage.check_bucket(good_url, "TELEMETRY_WAREHOUSE_DIR")
            for name, value in env.items():
                patch.setenv(name, value)
            with pytest.raises(dg.Failure, match=expected) as failure:
                Warehouse(warehouse_dir=url).root()
        assert "TELEMETRY_WAREHOUSE_DIR" in str(failure.value) or "AWS_" in str(failure.value)
        # Nothing written but, at most, the empty folder marker pyarrow keeps for a prefix.
        listing = server.client("s3", key["AccessKeyId"], key["SecretAccessKey"])
        objects = listing.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        assert all(o["Key"].endswith("/") and o["Size"] == 0 for o in objects), objects
    finally:
        server.stop()


def test_parallel_staging_writes_parts_to_the_bucket(
    s3: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes get the bucket location pickled and write their parts into it."""
    landing = tmp_path / "landing"
    generate_landing(landing, dt.date.fromisoformat(FIRST), 1, events_per_hour=5)
    files = scan_landing(landing).files
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    root = object_storage.resolve(f"s3://{BUCKET}/parallel/warehouse")
    staged = staging.stage_files(root, files, workers=2)
    assert [s.source_file for s in staged] == [f.rel_path for f in files]
    assert all(staging.current_part(root, f) is not None for f in files)
