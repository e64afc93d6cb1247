"""Deduplication by 60-bit prefix, then full id, equals deduplicating the whole day at once."""

import datetime as dt

import polars as pl
import pytest

from telemetry_assets import dedup, ledger
from telemetry_assets.landing.decoders import decode
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import split_lines
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.tables import EVENTS
from telemetry_assets.staging import raw_rows
from telemetry_assets_tests.factories import jsonl, v1_record

DAY = dt.date(2025, 3, 1)


def raw_day(copies: int = 3) -> pl.LazyFrame:
    records = [v1_record(event=f"e{i % 40}", payload={"n": i % 150}) for i in range(600)]
    data = jsonl(*records * copies)
    candidates = decode(FileFormat.EVENTS, split_lines(data)).with_columns(
        file_day=pl.lit(DAY), source_file=pl.lit("f.jsonl")
    )
    return raw_rows(apply_gate(candidates, late_days=2)).lazy()


def naive_dedup(raw: pl.LazyFrame) -> pl.DataFrame:
    """Every valid row of the day in memory, sorted by identity then position, first kept."""
    valid = raw.filter(pl.col("reason").is_null() & (pl.col("event_day") == DAY)).collect()
    return valid.sort("event_id", "source_file", "source_line").unique("event_id", keep="first")


def test_deduplication_equals_naive_whole_day():
    raw = raw_day()
    events = dedup.events_for_day(raw, DAY).collect()
    assert events.columns == EVENTS.columns
    assert events.height == 600
    expected = naive_dedup(raw).select(EVENTS.columns)
    assert events.sort("event_id").equals(expected.sort("event_id"))
    counts = ledger.count_day(raw, raw, DAY)
    assert (counts.valid_read, counts.distinct, counts.duplicates_removed) == (1800, 600, 1200)


def test_ids_sharing_the_60_bit_prefix_are_compared_in_full():
    prefix = "a" * 15
    rows = pl.DataFrame(
        {
            "event_id": [prefix + "0" * 49, prefix + "1" * 49, prefix + "0" * 49, "b" * 64],
            "source_file": ["f2", "f1", "f1", "f1"],
            "source_line": [1, 2, 3, 4],
        }
    ).with_columns(
        id60=dedup.identity_prefix(pl.col("event_id")),
        reason=pl.lit(None, dtype=pl.String),
        event_day=pl.lit(DAY),
    )
    assert rows["id60"].n_unique() == 2
    dropped = dedup.duplicate_copies(rows.lazy())
    # the two "...000" copies: the one at (f1, 3) precedes (f2, 1), so (f2, 1) is dropped
    assert dropped.rows() == [("f2", 1)]


def test_prefixes_hashed_in_many_buckets_find_the_same_duplicates(monkeypatch):
    """A day bigger than one bucket is searched bucket by bucket, with the same result."""
    raw = raw_day()
    valid = dedup.valid_on_day(raw, DAY)
    whole = dedup.duplicate_copies(valid).sort(dedup.POSITION)
    monkeypatch.setattr(dedup, "BUCKET_ROWS", 100)
    bucketed = dedup.duplicate_copies(valid).sort(dedup.POSITION)
    assert whole.height == 1200
    assert bucketed.equals(whole)


@pytest.mark.parametrize("bucket_rows", [1, 2, 3, 1000])
def test_repeated_values_are_each_value_held_more_than_once_listed_once(monkeypatch, bucket_rows):
    monkeypatch.setattr(dedup, "BUCKET_ROWS", bucket_rows)
    values = pl.LazyFrame({"v": [7, 1, 7, 2**62, 3, 7, 2**62, None, None, 2**62 + 1]})
    assert dedup.repeated_values(values).sort("v")["v"].to_list() == [7, 2**62]
    empty = pl.LazyFrame(schema={"h": pl.UInt64})
    assert dedup.repeated_values(empty).to_series().to_list() == []
