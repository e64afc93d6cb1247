"""From staged raw rows to the warehouse tables: events, quarantine, ingest_stats.

Pure Polars: frames in, frames out. Attribution follows the contract: a valid record (and a
removed duplicate) counts on its event day, a quarantined record on its file day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE

VALID = pl.col("reason").is_null()


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


def events_for_day(raw_window: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    """The `events` partition of one event day from the raw rows of days D-1 .. D+late."""
    return EVENTS.conform(deduplicate(valid_on_day(raw_window, day)))


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
    valid = (
        valid_on_day(raw_window, day)
        .select(rows=pl.len(), distinct=pl.col("event_id").n_unique())
        .collect()
    )
    quarantined = raw_day.filter(~VALID).select(pl.len()).collect().item()
    return DayCounts(day, valid["rows"].item(), valid["distinct"].item(), quarantined)


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
