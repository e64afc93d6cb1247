"""The ingest ledger: quarantine rows and per-day counts taken on the staged raw rows.

Attribution follows the contract: a valid record (and a removed duplicate) counts on its event
day, a quarantined record on its file day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from telemetry_assets.dedup import VALID, duplicate_copies, valid_on_day, valid_on_days
from telemetry_assets.schemas.tables import INGEST_STATS, QUARANTINE


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
    valid = valid_on_day(raw_window, day)
    rows = valid.select(pl.len()).collect().item()
    duplicates = duplicate_copies(valid).height
    quarantined = raw_day.filter(~VALID).select(pl.len()).collect().item()
    return DayCounts(day, rows, rows - duplicates, quarantined)


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


# The raw columns `count_days` reads.
COUNT_COLUMNS = [
    "reason",
    "event_day",
    "file_day",
    "id60",
    "event_id",
    "source_file",
    "source_line",
]


def count_days(raw_window: pl.LazyFrame, days: list[dt.date]) -> dict[dt.date, DayCounts]:
    """`count_day` of several consecutive days from one scan of their raw window (file days
    days[0]-1 .. days[-1]+late): valid rows and copies by event day, rejects by file day."""
    first, last = days[0], days[-1]
    valid = valid_on_days(raw_window, first, last)
    read = dict(valid.group_by("event_day").agg(pl.len()).collect().iter_rows())
    copies = duplicate_copies(valid, carry=("event_day",))
    dropped = dict(copies.group_by("event_day").agg(pl.len()).iter_rows())
    rejected = raw_window.filter(~VALID & pl.col("file_day").is_between(first, last))
    quarantined = dict(rejected.group_by("file_day").agg(pl.len()).collect().iter_rows())
    return {
        day: DayCounts(
            day,
            read.get(day, 0),
            read.get(day, 0) - dropped.get(day, 0),
            quarantined.get(day, 0),
        )
        for day in days
    }


def quarantine_days(raw: pl.LazyFrame, days: list[dt.date]) -> pl.DataFrame:
    """`quarantine_rows` of several file days at once, ordered by file day."""
    rejected = raw.filter(~VALID & pl.col("file_day").is_between(days[0], days[-1]))
    return QUARANTINE.conform(rejected.sort("file_day", "source_file", "source_line"))
