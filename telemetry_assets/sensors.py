"""The landing sensor: new, changed or deleted files -> exactly the partitions they affect.

The cursor maps every landing file seen to "file day|fingerprint", so a tick only compares
stat() results. Affected file days become `raw_events` partitions, and every downstream
asset's partitions follow from the asset graph's own partition mappings (events of
D-late .. D+1, window metrics of later days), so a new dependency needs no change here.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

# Launching a backfill over per-asset partition sets is what Dagster's own automation does;
# the constructor is not public API yet, so it is used in this one place only.
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset

from telemetry_assets.assets.ingest import raw_events
from telemetry_assets.landing.files import LandingFile
from telemetry_assets.resources import LandingZone

MAX_DAYS_PER_TICK = 31
TICK_INTERVAL_SECONDS = 5


def _day(entry: str) -> dt.date:
    return dt.date.fromisoformat(entry.split("|", 1)[0])


@dataclass(frozen=True)
class LandingChanges:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    file_days: frozenset[dt.date]
    cursor: dict[str, str]

    def summary(self) -> str:
        return (
            f"{len(self.added)} new, {len(self.changed)} changed, {len(self.removed)} removed "
            f"files over {len(self.file_days)} file days"
        )


def diff_landing(
    previous: Mapping[str, str], files: list[LandingFile], max_days: int = MAX_DAYS_PER_TICK
) -> LandingChanges:
    """What changed since the cursor, limited to the earliest `max_days` file days.

    Files of postponed days keep their old cursor entry (or none), so the next tick sees them
    again: a tick's work stays bounded however much has landed.
    """
    current = {f.rel_path: f"{f.file_day.isoformat()}|{f.fingerprint.token()}" for f in files}
    touched = {p for p in current.keys() | previous.keys() if current.get(p) != previous.get(p)}
    days = sorted({_day(current.get(p) or previous[p]) for p in touched})
    taken = frozenset(days[:max_days])
    cursor = {}
    for path in current.keys() | previous.keys():
        entry = current.get(path) or previous[path]
        chosen = current.get(path) if _day(entry) in taken else previous.get(path)
        if chosen is not None:
            cursor[path] = chosen
    mine = sorted(p for p in touched if _day(current.get(p) or previous[p]) in taken)
    return LandingChanges(
        added=tuple(p for p in mine if p not in previous),
        changed=tuple(p for p in mine if p in previous and p in current),
        removed=tuple(p for p in mine if p not in current),
        file_days=taken,
        cursor=cursor,
    )


def partitioned_now(files: list[LandingFile]) -> list[LandingFile]:
    """Files whose day is a partition today; a file named for a later day waits for its day."""
    valid = set(raw_events.partitions_def.get_partition_keys())
    return [f for f in files if f.file_day.isoformat() in valid]


def affected_partitions(asset_graph: AssetGraph, file_days: frozenset[dt.date]) -> AssetGraphSubset:
    """raw_events of the file days plus every descendant partition that reads them."""
    keys = sorted(d.isoformat() for d in file_days)
    subsets = {raw_events.key: raw_events.partitions_def.subset_with_partition_keys(keys)}
    for key in asset_graph.toposorted_asset_keys:
        if key in subsets:
            continue
        node = asset_graph.get(key)
        combined = None
        for parent in node.parent_keys:
            if parent not in subsets:
                continue
            parent_def = asset_graph.get(parent).partitions_def
            mapped = asset_graph.get_partition_mapping(
                key, parent
            ).get_downstream_partitions_for_partitions(
                subsets[parent], parent_def, node.partitions_def
            )
            combined = mapped if combined is None else combined | mapped
        if combined is not None:
            subsets[key] = combined
    return AssetGraphSubset(partitions_subsets_by_asset_key=subsets)


def request_key(changes: LandingChanges) -> str:
    """Derived from the content of the change, so a replayed tick is recognisable."""
    material = json.dumps(
        [
            changes.added,
            changes.changed,
            changes.removed,
            {p: changes.cursor.get(p) for p in (*changes.added, *changes.changed)},
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@dg.sensor(
    asset_selection=dg.AssetSelection.all(),
    minimum_interval_seconds=TICK_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Picks up new, changed and deleted landing files and backfills what they affect.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing: LandingZone
) -> dg.SensorResult | dg.SkipReason:
    try:
        scan = landing.scan()
    except dg.Failure as missing:
        return dg.SkipReason(missing.description)
    previous = json.loads(context.cursor) if context.cursor else {}
    changes = diff_landing(previous, partitioned_now(scan.files))
    if not changes.file_days:
        return dg.SkipReason(f"no new, changed or deleted landing files ({len(scan.files)} seen)")
    context.log.info(changes.summary())
    subset = affected_partitions(context.repository_def.asset_graph, changes.file_days)
    request = dg.RunRequest.for_asset_graph_subset(
        subset,
        tags={
            "telemetry/landing_change": request_key(changes),
            "telemetry/file_days": ",".join(d.isoformat() for d in sorted(changes.file_days)),
        },
    )
    return dg.SensorResult(
        run_requests=[request], cursor=json.dumps(changes.cursor, sort_keys=True)
    )
