"""Every day window of the pipeline, written once.

A file of day F holds records of event days F-LATE_DAYS .. F+EARLY_DAYS (later is
`future_timestamp`, earlier is `too_late`), so the `events` of day D are gathered from file
days D-EARLY_DAYS .. D+LATE_DAYS. Window metrics look back over trailing days. The partition
mappings in `defs.partitions` and the gate's rules are derived from these numbers.

`LATE_DAYS` and `START_DATE` are read from the environment once, at import: the partition
definitions and mappings are fixed when the code location loads, so no run config can
disagree with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from telemetry_assets import settings

START_DATE = settings.start_date()
LATE_DAYS = settings.late_days()
# A record may carry an event day at most this many days after its file day (clock skew,
# a file rolled just before midnight); two or more days ahead is `future_timestamp`.
EARLY_DAYS = 1
USER_WINDOWS = {"dau": 1, "wau": 7, "mau": 30}
USER_WINDOW_DAYS = max(USER_WINDOWS.values())
DASHBOARD_DAYS = 30
# Days of hourly history (plus the day itself) an anomaly score sees: the detector needs about
# 400 earlier points (17 days of hours) before its scores settle.
ANOMALY_HISTORY_DAYS = 28


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Inclusive range of days."""
    for offset in range((last - first).days + 1):
        yield first + dt.timedelta(days=offset)


def raw_window(day: dt.date, late_days: int = LATE_DAYS) -> list[dt.date]:
    """File days whose records may carry event day `day`: D-EARLY_DAYS .. D+late_days."""
    return list(
        days_between(day - dt.timedelta(days=EARLY_DAYS), day + dt.timedelta(days=late_days))
    )


def event_days_of_file_day(file_day: dt.date, late_days: int = LATE_DAYS) -> list[dt.date]:
    """Event days a file of `file_day` may feed: F-late_days .. F+EARLY_DAYS."""
    return list(
        days_between(
            file_day - dt.timedelta(days=late_days), file_day + dt.timedelta(days=EARLY_DAYS)
        )
    )


def trailing(day: dt.date, length: int) -> list[dt.date]:
    """The `length` days ending on `day`, oldest first."""
    return list(days_between(day - dt.timedelta(days=length - 1), day))
