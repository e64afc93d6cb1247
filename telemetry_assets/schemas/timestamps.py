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


def with_utc_microseconds(frame: pl.DataFrame, column: str, out: str) -> pl.DataFrame:
    """Add `out`: UTC epoch microseconds of `column`, or null where it is not a real timestamp.

    One anchored regex decides the shape; the fields then sit at fixed offsets and are cut out
    with string slices, in stages so that no intermediate is computed twice.
    """
    text = pl.col(column)

    def number(expr: pl.Expr) -> pl.Expr:
        return expr.cast(pl.Int64, strict=False)

    rest = text.str.slice(19)  # [.fraction][Z|±HH:MM]
    parts = frame.select(
        _shaped=text.str.contains(TIMESTAMP_PATTERN).fill_null(False),
        _y=number(text.str.slice(0, 4)),
        _mo=number(text.str.slice(5, 2)),
        _d=number(text.str.slice(8, 2)),
        _seconds=number(text.str.slice(11, 2)) * 3600
        + number(text.str.slice(14, 2)) * 60
        + number(text.str.slice(17, 2)),
        _h=number(text.str.slice(11, 2)),
        _mi=number(text.str.slice(14, 2)),
        _s=number(text.str.slice(17, 2)),
        _offset=pl.when(rest.str.slice(-6, 1).is_in(["+", "-"])).then(rest.str.tail(6)),
        _rest=rest,
    )
    zone_length = (
        pl.when(pl.col("_offset").is_not_null())
        .then(6)
        .when(pl.col("_rest").str.ends_with("Z"))
        .then(1)
        .otherwise(0)
    )
    fraction = pl.col("_rest").str.head(pl.col("_rest").str.len_chars() - zone_length)
    offset = pl.col("_offset")
    offset_hours = number(offset.str.slice(1, 2)).fill_null(0)
    offset_minutes = number(offset.str.slice(4, 2)).fill_null(0)
    parts = parts.with_columns(
        _us=number(fraction.str.strip_prefix(".").str.pad_end(6, "0").str.slice(0, 6)).fill_null(0),
        _oh=offset_hours,
        _om=offset_minutes,
        _sign=pl.when(offset.str.starts_with("-")).then(-1).otherwise(1),
    )
    y, mo, d = pl.col("_y"), pl.col("_mo"), pl.col("_d")
    valid = (
        pl.col("_shaped")
        & y.is_between(1, 9999)
        & mo.is_between(1, 12)
        & d.is_between(1, _days_in_month(y, mo))
        & pl.col("_h").is_between(0, 23)
        & pl.col("_mi").is_between(0, 59)
        & pl.col("_s").is_between(0, 59)
        & pl.col("_oh").is_between(0, 23)
        & pl.col("_om").is_between(0, 59)
    )
    local_us = (
        _days_from_civil(y, mo, d) * US_PER_DAY + pl.col("_seconds") * US_PER_SECOND + pl.col("_us")
    )
    offset_us = pl.col("_sign") * (pl.col("_oh") * 3600 + pl.col("_om") * 60) * US_PER_SECOND
    micros = parts.select(pl.when(valid).then(local_us - offset_us).alias(out))
    return frame.with_columns(micros.to_series())


def utc_datetime(microseconds: pl.Expr) -> pl.Expr:
    return microseconds.cast(pl.Datetime("us", "UTC"))


def utc_day(microseconds: pl.Expr) -> pl.Expr:
    return (microseconds // US_PER_DAY).cast(pl.Date)
