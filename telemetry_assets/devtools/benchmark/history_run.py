"""One single-run backfill of a day range, in process, with its step timings.

`python -m telemetry_assets.devtools.benchmark.history_run LANDING WORK FIRST LAST SCOPE STEPS`
materializes SCOPE (`all`: every asset and check; `ingest+metrics`: the ingest and metric
assets and their checks; `floor-` before either: the same selection of the graph with no-op
bodies, see `dagster_floor`) over FIRST..LAST as one run (the partition range tags a backfill
uses) and writes each step's wall seconds to the JSON file STEPS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg

from telemetry_assets.definitions import ASSETS, CHECKS, defs
from telemetry_assets.defs.resources import LandingZone, ReportsStore, Warehouse
from telemetry_assets.devtools.benchmark.dagster_floor import floor_graph
from telemetry_assets.devtools.benchmark.run import SELECTION

SCOPES = {"all": None, "ingest+metrics": [*SELECTION, "service_health", "alerts"]}
FLOOR = "floor-"


def main(landing: str, work: str, first: str, last: str, scope: str, steps: str) -> int:
    instance = dg.DagsterInstance.ephemeral()
    names = SCOPES[scope.removeprefix(FLOOR)]
    selection = dg.AssetSelection.all() if names is None else dg.AssetSelection.assets(*names)
    assets, checks = floor_graph() if scope.startswith(FLOOR) else (ASSETS, CHECKS)
    result = dg.materialize(
        [*assets, *checks],
        selection=selection,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        resources={
            **(defs.resources or {}),
            "landing": LandingZone(landing_dir=landing),
            "warehouse_store": Warehouse(warehouse_dir=f"{work}/warehouse"),
            "reports": ReportsStore(reports_dir=f"{work}/reports"),
        },
        raise_on_error=False,
    )
    stats = instance.get_run_step_stats(result.run_id)
    timings = {
        s.step_key: round((s.end_time or 0) - (s.start_time or 0), 3)
        for s in sorted(stats, key=lambda s: s.start_time or 0)
    }
    Path(steps).write_text(json.dumps(timings, indent=2))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:7]))
