"""The benchmark's Dagster floor mirrors the real graph, so its time is what orchestration of
that graph costs."""

import dagster as dg

from telemetry_assets.definitions import defs
from telemetry_assets.devtools.benchmark.dagster_floor import floor_graph


def test_floor_has_the_real_keys_dependencies_and_checks():
    real = defs.resolve_asset_graph()
    assets, checks = floor_graph()
    floor = dg.Definitions(assets=assets, asset_checks=checks).resolve_asset_graph()
    assert floor.get_all_asset_keys() == real.get_all_asset_keys()
    assert set(floor.asset_check_keys) == set(real.asset_check_keys)
    for key in real.get_all_asset_keys():
        assert floor.get(key).parent_keys == real.get(key).parent_keys
        assert floor.get(key).partitions_def == real.get(key).partitions_def


def test_floor_materializes_a_range_in_one_run():
    assets, checks = floor_graph()
    result = dg.materialize(
        [*assets, *checks],
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": "2025-03-01",
            "dagster/asset_partition_range_end": "2025-03-02",
        },
    )
    assert result.success
    materialized = result.get_asset_materialization_events()
    assert len(materialized) == 2 * len(assets)
