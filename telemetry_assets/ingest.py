"""From staged raw rows to the warehouse tables: events, quarantine, ingest_stats.

Pure Polars: frames in, frames out. Attribution follows the contract: a valid record (and a
removed duplicate) counts on its event day, a quarantined record on its file day.

Deduplication needs every identity of a day at once, which would make memory grow with the
day. Raw rows therefore carry a `bucket` (a 64th of the identity space, from the first byte of
the event id) and are stored sorted by it, so a day is deduplicated one slice of buckets at a
time, each slice read through Parquet row-group pruning and held alone in memory.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE

VALID = pl.col("reason").is_null()
BUCKETS = 64
ROWS_PER_SLICE = 500_000


def identity_bucket(event_id: pl.Expr) -> pl.Expr:
    """Which 64th of the identity space an event id falls in (its first byte, divided by 4)."""
    first_byte = event_id.str.slice(0, 2).str.to_integer(base=16, strict=False)
    return (first_byte // (256 // BUCKETS)).cast(pl.UInt8)


def identity_slices(rows: int) -> list[tuple[int, int]]:
    """Contiguous bucket ranges of about ROWS_PER_SLICE rows each, covering all buckets."""
    count = min(BUCKETS, max(1, math.ceil(rows / ROWS_PER_SLICE)))
    edges = [round(i * BUCKETS / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1] - 1) for i in range(count)]


def _sliced(valid: pl.LazyFrame) -> Iterator[pl.LazyFrame]:
    rows = valid.select(pl.len()).collect().item()
    for low, high in identity_slices(rows):
        yield valid.filter(pl.col("bucket").is_between(low, high))


def valid_on_day(raw: pl.LazyFrame, day: dt.date) -> pl.LazyFrame:
    return raw.filter(VALID & (pl.col("event_day") == day))


def deduplicate(valid: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event identity: the copy with the smallest (source_file, source_line).

    Choosing by source position, not by arrival, makes the result independent of the order
    files were read in.
    """
    return (
        valid.sort("event_id", "source_file", "source_line")
        .unique(subset="event_id", keep="first", maintain_order=True)
        .sort("timestamp", "event_id")
    )


def events_for_day(raw_window: pl.LazyFrame, day: dt.date) -> Iterator[pl.DataFrame]:
    """The `events` partition of one event day from the raw rows of days D-1 .. D+late,
    one identity slice at a time (identities never span slices, so each is deduplicated alone).
    """
    for part in _sliced(valid_on_day(raw_window, day)):
        yield EVENTS.conform(deduplicate(part))


def count_reasons(reasons: pl.Series) -> dict[str, int]:
    """Quarantined records per reason code, most frequent first (nulls are valid rows)."""
    counted = reasons.drop_nulls().value_counts(sort=True)
    return dict(zip(*counted.to_dict(as_series=False).values(), strict=True))


def quarantine_rows(raw_day: pl.LazyFrame) -> pl.DataFrame:
    """The `quarantine` partition of one file day from that day's raw rows."""
    return QUARANTINE.conform(raw_day.filter(~VALID).sort("source_file", "source_line"))


@dataclass(frozen=True)
class DayCounts:
    day: dt.date
    valid_read: int
    distinct: int
    quarantined: int

    @property
    def records_read(self) -> int:
        return self.valid_read + self.quarantined

    @property
    def duplicates_removed(self) -> int:
        return self.valid_read - self.distinct


def count_day(raw_window: pl.LazyFrame, raw_day: pl.LazyFrame, day: dt.date) -> DayCounts:
    """Records attributed to a day, counted on the raw rows (the reader's side of the ledger)."""
    rows = distinct = 0
    for part in _sliced(valid_on_day(raw_window, day)):
        counted = part.select(rows=pl.len(), distinct=pl.col("event_id").n_unique()).collect()
        rows += counted["rows"].item()
        distinct += counted["distinct"].item()
    quarantined = raw_day.filter(~VALID).select(pl.len()).collect().item()
    return DayCounts(day, rows, distinct, quarantined)


def ingest_stats_row(counts: DayCounts) -> pl.DataFrame:
    return INGEST_STATS.conform(
        pl.DataFrame(
            {
                "date": [counts.day],
                "records_read": [counts.records_read],
                "valid": [counts.distinct],
                "duplicates_removed": [counts.duplicates_removed],
                "quarantined": [counts.quarantined],
            }
        )
    )
