import datetime as dt
import os

from telemetry_assets.landing.files import FileFormat, classify, scan_landing


def test_classify_names():
    assert classify("events-2025-03-01T10.jsonl") == (FileFormat.EVENTS, dt.date(2025, 3, 1), False)
    assert classify("events-2025-03-01T10-retry.jsonl.gz") == (
        FileFormat.EVENTS,
        dt.date(2025, 3, 1),
        True,
    )
    assert classify("product-analytics-2025-03-02.csv")[0] is FileFormat.PRODUCT_ANALYTICS
    assert classify("product-analytics-2025-03-02-export.csv.gz")[2] is True
    assert classify("metrics-2025-03-01T23.jsonl")[0] is FileFormat.METRICS
    for ignored in (
        "README.txt",
        "_SUCCESS",
        "events-2025-03-01.jsonl",
        "events-2025-03-01T10.json",
        "events-2025-03-01T10.jsonl.tmp",
        "metrics-2025-03-01.jsonl",
    ):
        assert classify(ignored) is None, ignored


def test_scan_reads_root_and_direct_subfolders_only(tmp_path):
    (tmp_path / "late" / "deeper").mkdir(parents=True)
    for rel in (
        "events-2025-03-01T00.jsonl",
        "late/events-2025-03-02T00.jsonl",
        "late/deeper/events-2025-03-03T00.jsonl",
        "README.txt",
        "_SUCCESS",
        "events-2025-02-30T00.jsonl",
    ):
        (tmp_path / rel).write_text("")
    scan = scan_landing(tmp_path)
    assert [f.rel_path for f in scan.files] == [
        "events-2025-03-01T00.jsonl",
        "late/events-2025-03-02T00.jsonl",
    ]
    assert "events-2025-02-30T00.jsonl" in scan.skipped


def test_symlink_outside_landing_is_skipped_and_reported(tmp_path):
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    landing.mkdir()
    outside.mkdir()
    (outside / "secret.jsonl").write_text("{}\n")
    (landing / "events-2025-03-01T00.jsonl").write_text("{}\n")
    os.symlink(outside / "secret.jsonl", landing / "events-2025-03-01T01.jsonl")
    os.symlink(landing / "events-2025-03-01T00.jsonl", landing / "events-2025-03-01T02.jsonl")
    scan = scan_landing(landing)
    assert [f.rel_path for f in scan.files] == [
        "events-2025-03-01T00.jsonl",
        "events-2025-03-01T02.jsonl",
    ]
    assert "outside" in scan.skipped["events-2025-03-01T01.jsonl"]


def test_landing_names_cannot_lead_parts_out_of_the_warehouse(tmp_path):
    from telemetry_assets.staging import part_path

    landing = tmp_path / "landing"
    (landing / "..sub").mkdir(parents=True)
    for name in ("events-2025-03-01T10-..-..-etc.jsonl", "..sub/events-2025-03-01T11 $(x).jsonl"):
        (landing / name).write_text("{}\n")
    warehouse = tmp_path / "warehouse"
    for file in scan_landing(landing).files:
        path = part_path(warehouse, file).resolve()
        assert path.parent == (warehouse / "raw_events" / "date=2025-03-01").resolve()
        assert "/" not in path.name and " " not in path.name


def test_web_ui_binds_to_loopback():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    (dev_line,) = [line for line in makefile.splitlines() if "$(BIN)/dagster dev" in line]
    assert "-h 127.0.0.1" in dev_line
    api_lines = [line for line in makefile.splitlines() if "-m telemetry_assets.api" in line]
    assert api_lines and all(
        "--host 127.0.0.1" in line or "--host $(API_HOST)" in line for line in api_lines
    )
    assert "API_HOST ?= 127.0.0.1" in makefile
