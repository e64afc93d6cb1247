"""Deduplication one identity slice at a time equals deduplicating the whole day at once."""

import datetime as dt

import polars as pl
import pytest

from telemetry_assets import ingest
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.formats import decode
from telemetry_assets.landing.lines import split_lines
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.staging import raw_rows
from telemetry_assets_tests.factories import jsonl, v1_record

DAY = dt.date(2025, 3, 1)


@pytest.mark.parametrize("rows", [0, 1, 499_999, 500_001, 10**7, 10**9])
def test_slices_cover_every_bucket_once(rows):
    slices = ingest.identity_slices(rows)
    covered = [b for low, high in slices for b in range(low, high + 1)]
    assert covered == list(range(ingest.BUCKETS))


def raw_day(copies: int = 3) -> pl.LazyFrame:
    records = [v1_record(event=f"e{i % 40}", payload={"n": i % 150}) for i in range(600)]
    data = jsonl(*records * copies)
    candidates = decode(FileFormat.EVENTS, split_lines(data)).with_columns(
        file_day=pl.lit(DAY), source_file=pl.lit("f.jsonl")
    )
    return raw_rows(apply_gate(candidates, late_days=2)).lazy()


def test_sliced_deduplication_equals_whole_day(monkeypatch):
    raw = raw_day()
    monkeypatch.setattr(ingest, "ROWS_PER_SLICE", 10**9)
    (whole,) = list(ingest.events_for_day(raw, DAY))
    monkeypatch.setattr(ingest, "ROWS_PER_SLICE", 100)
    parts = list(ingest.events_for_day(raw, DAY))
    assert len(parts) == 18  # 1800 rows / 100, one slice per 100 rows
    sliced = pl.concat(parts)
    assert whole.height == sliced.height == 600
    assert whole.sort("event_id").equals(sliced.sort("event_id"))
    counts = ingest.count_day(raw, raw, DAY)
    assert (counts.valid_read, counts.distinct, counts.duplicates_removed) == (1800, 600, 1200)
