"""The one Definitions object of the code location: every layer's assets and checks."""

from __future__ import annotations

import dagster as dg

from telemetry_assets.defs.executors import executor_from_env
from telemetry_assets.defs.ingest.assets import ingest_assets
from telemetry_assets.defs.ingest.checks import ingest_checks
from telemetry_assets.defs.metrics.assets import metric_assets
from telemetry_assets.defs.metrics.checks import metric_checks
from telemetry_assets.defs.observability.assets import observability_assets
from telemetry_assets.defs.observability.checks import observability_checks
from telemetry_assets.defs.reports.assets import report_assets
from telemetry_assets.defs.resources import (
    AlertPolicy,
    IngestPolicy,
    LandingZone,
    ReportsStore,
    Warehouse,
)
from telemetry_assets.defs.retention import Retention, retention_job, retention_schedule
from telemetry_assets.defs.schedules import daily_schedule
from telemetry_assets.defs.schema_checks import schema_checks
from telemetry_assets.defs.sensors import landing_sensor
from telemetry_assets.schemas.gate import require_validation

# A gate that pandera was told to skip would accept every record: refuse to load instead.
require_validation()

ASSETS = [*ingest_assets, *metric_assets, *observability_assets, *report_assets]
CHECKS = [*ingest_checks, *metric_checks, *observability_checks, *schema_checks(ASSETS)]

# In-process by default: every step shares one process, so a run pays Python/Polars start-up
# once instead of once per step (seconds each with the multiprocess executor); parallelism lives
# inside the assets. TELEMETRY_EXECUTOR=celery spreads steps over Celery workers (deploy/).
defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    sensors=[landing_sensor],
    jobs=[retention_job],
    schedules=[daily_schedule, retention_schedule],
    resources={
        "landing": LandingZone.from_env(),
        "warehouse_store": Warehouse.from_env(),
        "ingest_policy": IngestPolicy.from_env(),
        "alert_policy": AlertPolicy.from_env(),
        "reports": ReportsStore.from_env(),
        "retention": Retention.from_env(),
    },
    executor=executor_from_env(),
)
