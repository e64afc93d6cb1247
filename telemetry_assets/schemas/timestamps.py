"""Vectorised, strict parsing of contract timestamps into UTC microseconds.

`YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH:MM]`; no zone means UTC. Components are checked against
the calendar by integer arithmetic, so every row is judged on its own (Polars'
`str.to_datetime` infers one format per column and nulls rows that mix `Z` and naive forms).
Fractions beyond microseconds are truncated.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP_PATTERN = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND


def _days_from_civil(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def utc_microseconds(timestamp: pl.Expr) -> pl.Expr:
    """UTC epoch microseconds, or null where the text is not a real contract timestamp."""
    parts = timestamp.str.extract_groups(TIMESTAMP_PATTERN)

    def num(index: int) -> pl.Expr:
        return parts.struct.field(str(index)).cast(pl.Int64)

    year, month, day, hour, minute, second = (num(i) for i in range(1, 7))
    fraction = parts.struct.field("7").fill_null("0").str.pad_end(6, "0").str.slice(0, 6)
    zone = parts.struct.field("8").fill_null("Z")
    offset_hours = zone.str.slice(1, 2).cast(pl.Int64, strict=False).fill_null(0)
    offset_minutes = zone.str.slice(4, 2).cast(pl.Int64, strict=False).fill_null(0)
    offset_sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    valid = (
        year.is_between(1, 9999)
        & month.is_between(1, 12)
        & day.is_between(1, _days_in_month(year, month))
        & hour.is_between(0, 23)
        & minute.is_between(0, 59)
        & second.is_between(0, 59)
        & offset_hours.is_between(0, 23)
        & offset_minutes.is_between(0, 59)
    )
    local_us = (
        _days_from_civil(year, month, day) * US_PER_DAY
        + (hour * 3600 + minute * 60 + second) * US_PER_SECOND
        + fraction.cast(pl.Int64)
    )
    offset_us = offset_sign * (offset_hours * 3600 + offset_minutes * 60) * US_PER_SECOND
    return pl.when(valid).then(local_us - offset_us)


def utc_datetime(microseconds: pl.Expr) -> pl.Expr:
    return microseconds.cast(pl.Datetime("us", "UTC"))


def utc_day(microseconds: pl.Expr) -> pl.Expr:
    return (microseconds // US_PER_DAY).cast(pl.Date)
