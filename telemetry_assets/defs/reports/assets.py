"""Reports layer: a per-day report (HTML, metrics.txt, PNG) and the dashboard (DESIGN §6).

`<reports>/date=YYYY-MM-DD/{report.html, metrics.txt, feature_usage.png}` and
`<reports>/dashboard.html`. Pages are self-contained (plotly.js inlined) and escape every
string that came from data.
"""

import dataclasses
import datetime as dt

import dagster as dg
import polars as pl

from telemetry_assets import day_ranges, storage_size, warehouse
from telemetry_assets.defs.ingest.assets import ingest_stats, quarantine
from telemetry_assets.defs.metrics.assets import (
    active_users,
    alerts,
    event_counts,
    feature_usage,
    latency_by_feature,
    latency_by_service,
    service_health,
)
from telemetry_assets.defs.observability.assets import anomalies, log_patterns
from telemetry_assets.defs.partitions import daily_asset, days_in_run, trailing_days
from telemetry_assets.defs.resources import LandingZone, ReportsStore, Warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.reporting import content, images
from telemetry_assets.schemas.tables import (
    ACTIVE_USERS,
    ALERTS,
    ANOMALIES,
    EVENT_COUNTS,
    FEATURE_USAGE,
    INGEST_STATS,
    LATENCY_BY_FEATURE,
    LATENCY_BY_SERVICE,
    LOG_PATTERNS,
    QUARANTINE,
    SERVICE_HEALTH,
    Table,
)
from telemetry_assets.warehouse import day_dir
from telemetry_assets.windows import DASHBOARD_DAYS

GROUP = "reports"
REPORT_INPUTS = [
    ingest_stats,
    quarantine,
    event_counts,
    feature_usage,
    active_users,
    latency_by_feature,
    latency_by_service,
    service_health,
    alerts,
    anomalies,
    log_patterns,
]


def load_tables(root: StoragePath, days: list[dt.date]) -> content.Tables:
    def read(table: Table) -> pl.DataFrame:
        return warehouse.scan_table(root, table, days).collect()

    by_reason = (
        read(QUARANTINE)
        .group_by(date="file_day", reason="reason")
        .agg(records=pl.len())
        .sort("date", "reason")
    )
    return content.Tables(
        ingest_stats=read(INGEST_STATS),
        quarantine_by_reason=by_reason,
        event_counts=read(EVENT_COUNTS),
        feature_usage=read(FEATURE_USAGE),
        active_users=read(ACTIVE_USERS),
        latency_by_feature=read(LATENCY_BY_FEATURE),
        latency_by_service=read(LATENCY_BY_SERVICE),
        service_health=read(SERVICE_HEALTH),
        alerts=read(ALERTS),
        anomalies=read(ANOMALIES),
        log_patterns=read(LOG_PATTERNS),
    )


def tables_by_day(tables: content.Tables, days: list[dt.date]) -> dict[dt.date, content.Tables]:
    """The tables of a range split into each day's (as `load_tables` of that day reads them)."""
    columns: dict[str, dict[dt.date, pl.DataFrame]] = {}
    for field in dataclasses.fields(tables):
        frame: pl.DataFrame = getattr(tables, field.name)
        columns[field.name] = day_ranges.split_by(frame, "date", days, frame.clear)
    return {
        day: content.Tables(**{name: by_day[day] for name, by_day in columns.items()})
        for day in days
    }


@daily_asset(
    group_name=GROUP,
    kinds={"plotly", "html"},
    deps=REPORT_INPUTS,
)
def daily_report(
    context: dg.AssetExecutionContext,
    landing: LandingZone,
    warehouse_store: Warehouse,
    reports: ReportsStore,
) -> dg.MaterializeResult:
    """report.html, metrics.txt and feature_usage.png for each day of the run."""
    source, target = warehouse_store.root(), reports.root()
    days = days_in_run(context)
    scan = landing.scan()
    landing_by_day: dict[dt.date, list] = {}
    for file in scan.files:
        landing_by_day.setdefault(file.file_day, []).append(file)
    texts: dict[dt.date, str] = {}
    notes: set[str] = set()
    # Chunks of days: the tables are read once per chunk, so memory stays bounded by the chunk
    # and not the range; one browser session, opened only if a PNG changed, draws every chunk's.
    with images.PngExporter() as exporter:
        for chunk in day_ranges.chunks(days):
            tables = tables_by_day(load_tables(source, chunk), chunk)
            figures = {day: content.daily_figures(t) for day, t in tables.items()}
            png_note = exporter.export(
                [
                    (figures[day]["feature_usage"], day_dir(target, day) / "feature_usage.png")
                    for day in chunk
                ]
            )
            if png_note and png_note not in notes:
                notes.add(png_note)
                context.log.warning(png_note)
            for day in chunk:
                storage = storage_size.size_lines(
                    storage_size.landing_bytes(landing_by_day.get(day, [])),
                    storage_size.warehouse_bytes(source, [day]),
                )
                texts[day] = content.metrics_text(day, tables[day], png_note, storage)
                warehouse.write_bytes_atomic(
                    day_dir(target, day) / "metrics.txt", texts[day].encode()
                )
                page = content.daily_page(day, tables[day], figures[day], png_note)
                warehouse.write_bytes_atomic(day_dir(target, day) / "report.html", page.encode())
    last = days[-1]
    png = day_dir(target, last) / "feature_usage.png"
    return dg.MaterializeResult(
        metadata={
            "reports": dg.MetadataValue.path(str(target)),
            "last_report": dg.MetadataValue.path(str(day_dir(target, last) / "report.html")),
            "png": dg.MetadataValue.path(str(png)) if png_note is None else png_note,
            "preview": dg.MetadataValue.md(f"```\n{texts[last]}```"),
        }
    )


def days_with_data(root: StoragePath, last: dt.date, limit: int) -> list[dt.date]:
    """The last `limit` days up to `last` whose ledger shows any valid event."""
    candidates = [day for day in warehouse.written_days(root, INGEST_STATS) if day <= last]
    stats = warehouse.scan_table(root, INGEST_STATS, candidates)
    found = stats.filter(pl.col("valid") > 0).select("date").sort("date").collect()
    return found["date"].tail(limit).to_list()


@daily_asset(
    group_name=GROUP,
    kinds={"plotly", "html"},
    deps=[
        dg.AssetDep(
            asset,
            partition_mapping=trailing_days(DASHBOARD_DAYS),
        )
        for asset in REPORT_INPUTS
    ],
)
def dashboard(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse, reports: ReportsStore
) -> dg.MaterializeResult:
    """dashboard.html over the last 30 days with data, ending on the run's last day."""
    source, target = warehouse_store.root(), reports.root()
    last = days_in_run(context)[-1]
    days = days_with_data(source, last, DASHBOARD_DAYS)
    path = target / "dashboard.html"
    if not days:
        context.log.warning(f"no day up to {last} has events; the dashboard is empty")
    first = days[0] if days else last
    page = content.dashboard_page(first, days[-1] if days else last, load_tables(source, days))
    warehouse.write_bytes_atomic(path, page.encode())
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.path(str(path)),
            "days": len(days),
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
        }
    )


report_assets = [daily_report, dashboard]
