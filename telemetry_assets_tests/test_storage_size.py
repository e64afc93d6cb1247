"""Landing bytes against warehouse Parquet bytes, as the summary and metrics.txt print them."""

import datetime as dt

from telemetry_assets import storage_size
from telemetry_assets.landing.files import scan_landing
from telemetry_assets_tests.factories import jsonl, v1_record, write_file


def test_sizes_are_the_files_sizes(pipeline):
    plain = write_file(pipeline.landing, "events-2025-03-01T10.jsonl", jsonl(v1_record()))
    packed = write_file(pipeline.landing, "events-2025-03-01T11.jsonl.gz", jsonl(v1_record()))
    pipeline.materialize("2025-03-01")
    landing = storage_size.landing_bytes(scan_landing(pipeline.landing).files)
    assert (landing.plain, landing.gzip) == (plain.stat().st_size, packed.stat().st_size)
    tables = storage_size.warehouse_bytes(pipeline.warehouse, [dt.date(2025, 3, 1)])
    events = next((pipeline.warehouse / "events").glob("date=2025-03-01/*.parquet"))
    assert tables["events"] == events.stat().st_size
    assert tables["alerts"] > 0 and tables["log_patterns"] > 0
    text = "\n".join(storage_size.size_lines(landing, tables))
    assert "landing bytes" in text and "warehouse Parquet" in text and "  events " in text
