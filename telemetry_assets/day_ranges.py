"""Computing a range of days with one query per chunk of days instead of one per day.

A single-run backfill covers many days; one query per day pays Polars' and Parquet's fixed
costs (planning, footers, thread start-up) once per day, which dominates when days are small.
Days are therefore processed in chunks: consecutive days whose estimated size stays within a
budget, so memory depends on the budget and never on the length of the range; a day bigger
than the budget is a chunk of its own (and takes the streaming single-day path where there
is one). A chunk's result is split back into one frame per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping

import polars as pl

from telemetry_assets import warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.schemas.tables import INGEST_STATS, Table

CHUNK_DAYS = 31
CHUNK_ROWS = 1_000_000


def chunks(
    days: list[dt.date],
    size_of: Mapping[dt.date, int] | None = None,
    budget: int = 0,
    max_days: int = CHUNK_DAYS,
) -> Iterator[list[dt.date]]:
    """Consecutive runs of at most `max_days` of `days` whose summed size stays within `budget`
    (a day of unknown size counts as the whole budget); without sizes, runs of `max_days`."""
    current: list[dt.date] = []
    total = 0
    for day in days:
        size = 0 if size_of is None else size_of.get(day, budget)
        if current and (total + size > budget or len(current) >= max_days):
            yield current
            current, total = [], 0
        current.append(day)
        total += size
    if current:
        yield current


def scan_days(root: StoragePath, table: Table, days: list[dt.date]) -> pl.LazyFrame:
    """The given days of a table as one lazy frame with each row's day as `date`."""
    return pl.concat(
        [
            warehouse.scan_table(root, table, [day]).with_columns(date=pl.lit(day, dtype=pl.Date))
            for day in days
        ]
    )


def split_by(
    frame: pl.DataFrame, column: str, days: list[dt.date], empty: Callable[[], pl.DataFrame]
) -> dict[dt.date, pl.DataFrame]:
    """One frame per day (rows in their order in `frame`); days without rows get `empty()`."""
    parts = frame.partition_by(column, as_dict=True, maintain_order=True)
    return {day: parts[(day,)] if (day,) in parts else empty() for day in days}


def events_by_day(root: StoragePath, days: list[dt.date]) -> dict[dt.date, int]:
    """Rows of each day's `events`, from the ledger (`ingest_stats.valid`, one small scan)."""
    stats = warehouse.scan_table(root, INGEST_STATS, days).select("date", "valid").collect()
    return dict(stats.iter_rows())


def bytes_by_day(root: StoragePath, table: Table, days: list[dt.date]) -> dict[dt.date, int]:
    """Bytes of each day's Parquet files of a table (a cheap size estimate, no file opened)."""
    return {
        day: sum(f.stat().st_size for f in warehouse.scan_partitions(root, table.name, [day]))
        for day in days
    }
