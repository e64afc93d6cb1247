"""Read-only queries over the warehouse tables plus the live buffer.

Metric samples and log records are rows of `events` (channel `metric` / `log`, DESIGN §4);
warehouse rows and live rows go through the same shaping, and a record that is in both (the
pipeline ran since the service accepted it) is counted once, by its event id.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from telemetry_assets.api import pipeline
from telemetry_assets.api.live import LiveBuffer


def metric_rows(events: pl.LazyFrame) -> pl.LazyFrame:
    """Metric samples (format C) among events rows."""
    return events.filter(pl.col("channel") == "metric").select(
        "timestamp",
        "service",
        metric=pl.col("event"),
        value=pl.col("payload").str.json_path_match("$.value").cast(pl.Float64, strict=False),
    )


def log_rows(events: pl.LazyFrame) -> pl.LazyFrame:
    """Log records (format D, or format A with channel `log`) among events rows."""
    return events.filter(pl.col("channel") == "log").select(
        "timestamp",
        "service",
        level=pl.col("event"),
        message=pl.col("payload").str.json_path_match("$.message"),
    )


def _between(column: str, since: dt.datetime | None, until: dt.datetime | None) -> pl.Expr:
    condition = pl.lit(True)
    if since is not None:
        condition &= pl.col(column) >= since
    if until is not None:
        condition &= pl.col(column) <= until
    return condition


class Queries:
    def __init__(self, live: LiveBuffer):
        self.live = live

    def _events(self, since: dt.datetime | None, until: dt.datetime | None) -> pl.LazyFrame:
        """Warehouse events of the days in range (by partition) and live rows, each once."""
        parts = []
        scan = pipeline.scan_days(
            pipeline.EVENTS_TABLE,
            since.date() if since else None,
            until.date() if until else None,
        )
        if scan is not None:
            parts.append(scan.select(pipeline.VALID_COLUMNS))
        live = self.live.frame()
        if live is not None:
            parts.append(live.lazy())
        if not parts:
            return pipeline.empty_events().lazy()
        return pl.concat(parts).unique("event_id", keep="first", maintain_order=True)

    def _rows(
        self,
        rows: pl.LazyFrame,
        filters: dict[str, str | None],
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
        time_column: str = "timestamp",
    ) -> list[dict]:
        """Newest first, at most `limit`."""
        condition = _between(time_column, since, until)
        for column, value in filters.items():
            if value is not None:
                condition &= pl.col(column) == value
        query = rows.filter(condition).sort(time_column, descending=True).head(limit)
        return query.collect().to_dicts()

    def metrics(self, service, metric, since, until, limit) -> list[dict]:
        rows = metric_rows(self._events(since, until))
        return self._rows(rows, {"service": service, "metric": metric}, since, until, limit)

    def logs(self, service, level, since, until, limit) -> list[dict]:
        rows = log_rows(self._events(since, until))
        return self._rows(rows, {"service": service, "level": level}, since, until, limit)

    def services(self) -> list[str]:
        services = self._events(None, None).select("service").drop_nulls().unique()
        return sorted(services.collect().get_column("service").to_list())

    def hourly(self, table, service, metric, since, until, limit) -> list[dict]:
        """Rows of a (date, hour) table such as `alerts` or `anomalies`; none when it does not
        exist yet."""
        scan = pipeline.scan_days(
            table, since.date() if since else None, until.date() if until else None
        )
        if scan is None:
            return []
        hour = pl.col("hour")
        if not scan.collect_schema()["hour"].is_temporal():  # an hour of the day, 0..23
            hour = pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=hour)
        filters = {"service": service, "metric": metric}
        rows = scan.with_columns(hour_start=hour)
        return self._rows(rows, filters, since, until, limit, time_column="hour_start")
