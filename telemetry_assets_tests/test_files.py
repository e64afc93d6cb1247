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
