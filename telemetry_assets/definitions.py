"""The one Definitions object of the code location."""

from __future__ import annotations

import dagster as dg

from telemetry_assets.assets import ingest, metrics, reports
from telemetry_assets.checks import ingest_checks, metric_checks
from telemetry_assets.defs.executors import executor_from_env
from telemetry_assets.resources import (
    AlertPolicy,
    IngestPolicy,
    LandingZone,
    ReportsStore,
    Warehouse,
)
from telemetry_assets.schedules import daily_schedule
from telemetry_assets.sensors import landing_sensor

# In-process: every step shares one process, so a run pays Python/Polars start-up once instead
# of once per step (seconds each with the multiprocess executor). Parallelism lives inside the
# assets: Polars threads, and worker processes for parsing big batches of landing files.
ASSETS = [
    ingest.raw_events,
    ingest.events,
    ingest.quarantine,
    ingest.ingest_stats,
    *metrics.metric_assets,
    *reports.report_assets,
]
CHECKS = [*ingest_checks, *metric_checks]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    sensors=[landing_sensor],
    schedules=[daily_schedule],
    resources={
        "landing": LandingZone.from_env(),
        "warehouse_store": Warehouse.from_env(),
        "ingest_policy": IngestPolicy.from_env(),
        "alert_policy": AlertPolicy.from_env(),
        "reports": ReportsStore.from_env(),
    },
    executor=executor_from_env(),
)
