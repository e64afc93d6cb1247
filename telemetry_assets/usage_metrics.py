"""Usage metrics over valid, deduplicated events: counts, features, active users.

Pure Polars: frames in, frames out. `date` is always the event day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from telemetry_assets.schemas.tables import ACTIVE_USERS, DAILY_USERS, EVENT_COUNTS, FEATURE_USAGE
from telemetry_assets.windows import USER_WINDOWS


def on_day(day: dt.date, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Stamp a day's aggregate with its `date` column (the event day)."""
    return frame.with_columns(date=pl.lit(day, dtype=pl.Date))


def event_counts(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    counted = events.group_by("channel", "event").agg(events=pl.len()).sort("channel", "event")
    return EVENT_COUNTS.conform(on_day(day, counted))


def feature_usage(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    used = (
        events.filter(pl.col("feature_id").is_not_null())
        .group_by("feature_id")
        .agg(events=pl.len(), users=pl.col("user_id").drop_nulls().n_unique())
        .sort("feature_id")
    )
    return FEATURE_USAGE.conform(on_day(day, used))


def daily_users(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    users = events.select(pl.col("user_id").drop_nulls().unique().sort())
    return DAILY_USERS.conform(on_day(day, users))


def active_users(
    users_by_day: pl.LazyFrame, day: dt.date, first_event_day: dt.date | None
) -> pl.DataFrame:
    """Distinct users over the 1/7/30 days ending on `day`, from the per-day user sets.

    A window that starts before the first day with events is null: its count would silently
    undercount users whose activity predates the data.
    """
    counts = {}
    for name, length in USER_WINDOWS.items():
        start = day - dt.timedelta(days=length - 1)
        if first_event_day is None or start < first_event_day:
            counts[name] = pl.lit(None, dtype=pl.Int64)
        else:
            in_window = pl.col("date").is_between(start, day)
            counts[name] = pl.col("user_id").filter(in_window).n_unique()
    return ACTIVE_USERS.conform(on_day(day, users_by_day.select(**counts)))
