"""The one Definitions object of the code location."""

from __future__ import annotations

import dagster as dg

from telemetry_assets.assets import ingest
from telemetry_assets.checks import ingest_checks
from telemetry_assets.resources import IngestPolicy, LandingZone, Warehouse

# In-process: every step shares one process, so a run pays Python/Polars start-up once instead
# of once per step (seconds each with the multiprocess executor). Parallelism lives inside the
# assets: Polars threads, and worker processes for parsing big batches of landing files.
defs = dg.Definitions(
    assets=[ingest.raw_events, ingest.events, ingest.quarantine, ingest.ingest_stats],
    asset_checks=ingest_checks,
    resources={
        "landing": LandingZone.from_env(),
        "warehouse_store": Warehouse.from_env(),
        "ingest_policy": IngestPolicy.from_env(),
    },
    executor=dg.in_process_executor,
)
