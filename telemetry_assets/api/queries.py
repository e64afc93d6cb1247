"""Read-only queries over the warehouse tables plus the live buffers.

A record that is in both (the pipeline ran since the service accepted it) is counted once, by
its event id.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from telemetry_assets.api import pipeline
from telemetry_assets.api.live import LiveBuffer
from telemetry_assets.api.shapes import log_rows, metric_rows


def _between(column: str, since: dt.datetime | None, until: dt.datetime | None) -> pl.Expr:
    condition = pl.lit(True)
    if since is not None:
        condition &= pl.col(column) >= since
    if until is not None:
        condition &= pl.col(column) <= until
    return condition


class Queries:
    """Each query reads the warehouse days in range and the live rows of its shape."""

    def __init__(self, live_metrics: LiveBuffer, live_logs: LiveBuffer):
        self.live_metrics, self.live_logs = live_metrics, live_logs

    @staticmethod
    def _warehouse(since: dt.datetime | None, until: dt.datetime | None) -> pl.LazyFrame | None:
        return pipeline.scan_days(
            pipeline.EVENTS_TABLE, since.date() if since else None, until.date() if until else None
        )

    @staticmethod
    def _rows(
        sources: list[pl.LazyFrame],
        filters: dict[str, str | None],
        window: tuple[dt.datetime | None, dt.datetime | None],
        limit: int,
        time_column: str = "timestamp",
    ) -> list[dict]:
        """Matching rows of all sources, each event once, newest first, at most `limit`."""
        condition = _between(time_column, *window)
        for column, value in filters.items():
            if value is not None:
                condition &= pl.col(column) == value
        if not sources:
            return []
        rows = pl.concat([source.filter(condition) for source in sources])
        if "event_id" in rows.collect_schema():
            rows = rows.unique("event_id", keep="first").drop("event_id")
        return rows.sort(time_column, descending=True).head(limit).collect().to_dicts()

    def _sources(self, shape, live: LiveBuffer, since, until) -> list[pl.LazyFrame]:
        sources = []
        warehouse = self._warehouse(since, until)
        if warehouse is not None:
            sources.append(shape(warehouse.select(pipeline.VALID_COLUMNS)))
        live_rows = live.frame()
        if live_rows is not None:
            sources.append(live_rows.lazy())
        return sources

    def metrics(
        self,
        service: str | None,
        metric: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
    ) -> list[dict]:
        sources = self._sources(metric_rows, self.live_metrics, since, until)
        filters = {"service": service, "metric": metric}
        return self._rows(sources, filters, (since, until), limit)

    def logs(
        self,
        service: str | None,
        level: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
    ) -> list[dict]:
        sources = self._sources(log_rows, self.live_logs, since, until)
        filters = {"service": service, "level": level}
        return self._rows(sources, filters, (since, until), limit)

    def services(self) -> list[str]:
        frames = [live.frame() for live in (self.live_metrics, self.live_logs)]
        sources = [f.lazy().select("service") for f in frames if f is not None]
        warehouse = self._warehouse(None, None)
        if warehouse is not None:
            sources.append(warehouse.select("service"))
        if not sources:
            return []
        services = pl.concat(sources).drop_nulls().unique().collect()
        return sorted(services.get_column("service").to_list())

    def hourly(
        self,
        table: str,
        service: str | None,
        metric: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
    ) -> list[dict]:
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
        rows = scan.with_columns(hour_start=hour)
        filters = {"service": service, "metric": metric}
        return self._rows([rows], filters, (since, until), limit, time_column="hour_start")
