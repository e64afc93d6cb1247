"""The one day partitioning shared by every asset and check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from telemetry_assets import settings

START_DATE = settings.start_date()
LATE_DAYS = settings.late_days()

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), end_offset=1, timezone="UTC"
)


SINGLE_RUN = dg.BackfillPolicy.single_run()


def daily_asset(**kwargs: Any) -> Callable[..., dg.AssetsDefinition]:
    """Every asset here is day-partitioned and builds a backfill range in one run."""
    return dg.asset(partitions_def=daily_partitions, backfill_policy=SINGLE_RUN, **kwargs)


def trailing_days(days: int) -> dg.TimeWindowPartitionMapping:
    """Depend on the `days` partitions ending on the same day (windows such as MAU)."""
    return dg.TimeWindowPartitionMapping(start_offset=1 - days, end_offset=0)


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Inclusive range of days."""
    for offset in range((last - first).days + 1):
        yield first + dt.timedelta(days=offset)


def days_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    """The days a run covers: one partition or a whole single-run backfill range.

    `context.partition_key` raises on ranges, so the key range is the only safe accessor.
    """
    key_range = context.partition_key_range
    return list(
        days_between(dt.date.fromisoformat(key_range.start), dt.date.fromisoformat(key_range.end))
    )
