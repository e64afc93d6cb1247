"""The service's landing files without a server: when files roll, and what a roll leaves."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from telemetry_assets.api.landing import LandingFiles
from telemetry_assets.api.pipeline import Kind
from telemetry_assets.landing.files import FileFormat, classify

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service

HOUR = dt.datetime(2026, 3, 1, 13, tzinfo=dt.UTC)


def visible(root) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def test_a_file_rolls_once_it_is_big_enough(tmp_path):
    files = LandingFiles(tmp_path, roll_seconds=3600, roll_bytes=10)
    small = files.append(Kind.EVENTS, HOUR, b"{}\n")
    files.sync([small])
    assert files.roll_due(time.monotonic()) == []
    assert visible(tmp_path) == []
    files.append(Kind.EVENTS, HOUR, b'{"a": 1}\n')
    rolled = files.roll_due(time.monotonic())
    assert [p.name for p in rolled] == visible(tmp_path)
    assert rolled[0].read_bytes() == b'{}\n{"a": 1}\n'
    assert classify(rolled[0].name) == (FileFormat.EVENTS, HOUR.date(), False)


def test_a_new_hour_rolls_the_open_file_and_names_the_next_by_its_hour(tmp_path):
    files = LandingFiles(tmp_path, roll_seconds=3600, roll_bytes=2**20)
    files.append(Kind.METRICS, HOUR, b"{}\n")
    files.append(Kind.METRICS, HOUR + dt.timedelta(hours=11), b"{}\n")
    assert [name[:22] for name in visible(tmp_path)] == ["metrics-2026-03-01T13-"]
    files.close()
    assert [name[:22] for name in visible(tmp_path)] == [
        "metrics-2026-03-01T13-",
        "metrics-2026-03-02T00-",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_names_are_unique_per_writer_and_file(tmp_path):
    one = LandingFiles(tmp_path, roll_seconds=0, roll_bytes=2**20)
    two = LandingFiles(tmp_path, roll_seconds=0, roll_bytes=2**20)
    for files in (one, two, one):
        files.append(Kind.LOGS, HOUR, b"{}\n")
        files.close()
    assert len(set(visible(tmp_path))) == 3
