"""Usage metrics over valid, deduplicated events: counts, features, active users.

Pure Polars: frames in, frames out. `date` is always the event day.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from telemetry_assets.schemas.tables import ACTIVE_USERS, DAILY_USERS, EVENT_COUNTS, FEATURE_USAGE
from telemetry_assets.windows import USER_WINDOWS


def on_day(day: dt.date, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Stamp a day's aggregate with its `date` column (the event day)."""
    return frame.with_columns(date=pl.lit(day, dtype=pl.Date))


# How a by-date aggregation runs. "in-memory" aggregates each group's rows in their order, so a
# small day's floats (means) are the same whether it was computed alone or with a range of days
# (the streaming engine's partial sums depend on how rows were split); a day too big for the
# chunk budget is always computed alone, with Polars' default ("auto", streaming) engine, so
# its memory does not grow with its size. A day's engine thus depends only on its own size.
Engine = Literal["in-memory", "auto"]


def by_date(query: pl.LazyFrame, engine: Engine = "in-memory") -> pl.DataFrame:
    return query.collect(engine=engine)


def event_counts_by_date(events: pl.LazyFrame, engine: Engine = "in-memory") -> pl.DataFrame:
    """Events per channel and event name of every `date` in the frame (one query per range)."""
    keys = ["date", "channel", "event"]
    return EVENT_COUNTS.conform(
        by_date(events.group_by(keys).agg(events=pl.len()).sort(keys), engine)
    )


def event_counts(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    return event_counts_by_date(on_day(day, events))


def feature_usage_by_date(events: pl.LazyFrame, engine: Engine = "in-memory") -> pl.DataFrame:
    keys = ["date", "feature_id"]
    used = (
        events.filter(pl.col("feature_id").is_not_null())
        .group_by(keys)
        .agg(events=pl.len(), users=pl.col("user_id").drop_nulls().n_unique())
        .sort(keys)
    )
    return FEATURE_USAGE.conform(by_date(used, engine))


def feature_usage(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    return feature_usage_by_date(on_day(day, events))


def daily_users_by_date(events: pl.LazyFrame, engine: Engine = "in-memory") -> pl.DataFrame:
    users = events.select("date", "user_id").drop_nulls("user_id").unique().sort("date", "user_id")
    return DAILY_USERS.conform(by_date(users, engine))


def daily_users(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    return daily_users_by_date(on_day(day, events))


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
