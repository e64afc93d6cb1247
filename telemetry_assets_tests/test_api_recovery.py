"""Start-up recovery: files a killed service left open are renamed into place, as they are."""

from __future__ import annotations

import datetime as dt
import fcntl

import pytest

from telemetry_assets.devtools.api_process import Service

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service


def test_start_up_renames_the_files_a_killed_service_left_open(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    hour = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")
    torn = landing / f".events-{hour}-api-deadbeef0000-000001.jsonl"
    torn.write_bytes(b'{"complete": 1}\n{"torn": ')
    empty = landing / f".metrics-{hour}-api-deadbeef0000-000002.jsonl"
    empty.touch()
    foreign = landing / f".events-{hour}-upload-in-progress.jsonl"  # another writer's upload
    foreign.write_bytes(b"{}\n")
    live = landing / f".logs-{hour}-api-0123456789ab-000001.jsonl"  # a live service's open file
    live.write_bytes(b"{}\n")
    with live.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        service = Service(landing, tmp_path / "warehouse").start()
        try:
            recovered = landing / torn.name[1:]
            assert recovered.read_bytes() == b'{"complete": 1}\n{"torn": '
            assert not torn.exists()
            assert not empty.exists() and not (landing / empty.name[1:]).exists()
            assert foreign.exists() and live.exists()
        finally:
            service.stop()
