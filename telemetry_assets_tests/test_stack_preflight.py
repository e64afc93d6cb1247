"""`make stack-up` refuses bad settings before starting anything, naming what to fix.

The stack's own servers are not needed for the failures: a closed loopback port stands for an
unreachable PostgreSQL or Redis, and moto's S3 server (from test_object_storage) for a bucket
that is missing or that refuses the credentials.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry_assets_tests.test_object_storage import BUCKET, MotoServer, _aws_env, _free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from loopback_stack import preflight
from loopback_stack.settings import StackError

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoServer]:
    server = MotoServer()
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


def test_unreachable_postgres_names_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    port = str(_free_port())
    monkeypatch.setenv("TELEMETRY_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("TELEMETRY_PG_PORT", port)
    with pytest.raises(
        StackError, match=f"127.0.0.1:{port}.*TELEMETRY_PG_HOST / TELEMETRY_PG_PORT"
    ):
        preflight.check_postgres()


def test_unreachable_redis_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_CELERY_BROKER", f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(StackError, match="fix TELEMETRY_CELERY_BROKER"):
        preflight.check_redis()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TELEMETRY_S3_BUCKET", "no-such-bucket", r"does not exist.*TELEMETRY_S3_BUCKET"),
        ("TELEMETRY_S3_ENDPOINT", "closed", "no S3 server answers at TELEMETRY_S3_ENDPOINT"),
    ],
)
def test_bad_s3_settings_name_the_setting(
    s3: MotoServer, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("TELEMETRY_S3_ENDPOINT", s3.url)
    monkeypatch.setenv("TELEMETRY_S3_BUCKET", BUCKET)
    preflight.check_s3()
    if value == "closed":
        value = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(StackError, match=expected):
        preflight.check_s3()


def test_a_data_folder_in_a_missing_bucket_stops_start_up(
    s3: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in _aws_env(s3.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TELEMETRY_LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("TELEMETRY_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("TELEMETRY_WAREHOUSE_DIR", f"s3://{BUCKET}/warehouse")
    preflight.check_data_dirs()
    monkeypatch.setenv("TELEMETRY_WAREHOUSE_DIR", "s3://no-such-bucket/warehouse")
    with pytest.raises(StackError, match=r"TELEMETRY_WAREHOUSE_DIR.*create the bucket"):
        preflight.check_data_dirs()
