"""Conservation on generated data: the demo generator books what it writes independently of
the reader and gate; the warehouse must reproduce its counts day by day and reason by reason."""

import datetime as dt

import polars as pl
import pytest

from telemetry_assets.devtools.demo import generate_landing
from telemetry_assets.schemas.tables import INGEST_STATS, QUARANTINE


@pytest.mark.slow
def test_demo_days_match_the_generators_ledger(pipeline):
    manifest = generate_landing(pipeline.landing, dt.date(2025, 3, 1), days=4, events_per_hour=15)
    assert pipeline.materialize("2025-03-01", "2025-03-04").success
    ledger = {
        row["date"]: (
            row["records_read"],
            row["valid"],
            row["duplicates_removed"],
            row["quarantined"],
        )
        for row in pipeline.table(INGEST_STATS).iter_rows(named=True)
    }
    expected = {
        day: (e.records_read, e.valid, e.duplicates_removed, e.quarantined)
        for day, e in manifest.expected.items()
    }
    assert ledger == expected
    reasons = pipeline.table(QUARANTINE).group_by("file_day", "reason").len().rows()
    found: dict[dt.date, dict[str, int]] = {}
    for day, reason, count in reasons:
        found.setdefault(day, {})[reason] = count
    assert found == {d: e.quarantined_by_reason for d, e in manifest.expected.items()}
    total_lines = sum(e.records_read for e in manifest.expected.values())
    raw_rows = (
        pl.scan_parquet(str(pipeline.warehouse / "raw_events/*/*.parquet"))
        .select(pl.len())
        .collect()
        .item()
    )
    assert raw_rows == total_lines
