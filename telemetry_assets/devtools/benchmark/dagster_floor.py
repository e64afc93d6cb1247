"""The history shape's floor: this project's asset graph with bodies that do nothing.

Materializing it over a range costs what Dagster itself costs per run, asset, check and
partition (planning, one materialization event per partition, check evaluations, the event
log), so the benchmark can print how much of the pipeline's time is orchestration.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import dagster as dg

from telemetry_assets.definitions import defs
from telemetry_assets.defs.partitions import SINGLE_RUN, daily_partitions


def _noop_asset(key: dg.AssetKey, parents: AbstractSet[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=key,
        deps=sorted(parents),
        partitions_def=daily_partitions,
        backfill_policy=SINGLE_RUN,
    )
    def _asset() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0})

    return _asset


def _noop_check(key: dg.AssetCheckKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key.asset_key, name=key.name, blocking=True, partitions_def=daily_partitions
    )
    def _check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return _check


def floor_graph() -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    """No-op assets and checks with the keys, dependencies and partitions of the real ones."""
    graph = defs.resolve_asset_graph()
    assets = [_noop_asset(key, graph.get(key).parent_keys) for key in graph.get_all_asset_keys()]
    return assets, [_noop_check(key) for key in graph.asset_check_keys]
