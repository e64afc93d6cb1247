"""The pipeline in one process through `dagster.materialize` (what a test or notebook does).

`python -m telemetry_assets.devtools.benchmark.inprocess LANDING WAREHOUSE DAY`
"""

from __future__ import annotations

import sys

import dagster as dg

from telemetry_assets.definitions import ASSETS, CHECKS, defs
from telemetry_assets.defs.resources import LandingZone, Warehouse
from telemetry_assets.devtools.benchmark.run import SELECTION


def main(landing: str, warehouse: str, day: str) -> int:
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        selection=SELECTION,
        partition_key=day,
        resources={
            **(defs.resources or {}),
            "landing": LandingZone(landing_dir=landing),
            "warehouse_store": Warehouse(warehouse_dir=warehouse),
        },
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
