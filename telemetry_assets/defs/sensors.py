"""The landing sensor: new, changed or deleted files -> plain runs over the days they affect.

The cursor maps every landing file seen to "file day|fingerprint", so a tick only compares
stat() results. A landing folder is listed whole each tick; a bucket is listed a page of at
most MAX_KEYS_PER_TICK keys per tick, starting after the last key of the previous page (kept
in the cursor), so a sweep over a large bucket spreads over several ticks; only the cursor
entries inside the listed range are compared with it.

A change on file days F..G affects, through the windows of `windows`:

1. every asset on days F-LATE_DAYS .. G+EARLY_DAYS (the event days those files feed; raw
   parts of unchanged files in that range are reused, not parsed again). One plain run with
   a partition range, launched at once: no backfill daemon round-trip.
2. the trailing-window assets (active_users, anomalies and the reports) on the days after
   that range whose window reaches back into it. They read what run 1 writes, so the sensor keeps
   them pending in its cursor and launches them once run 1 has succeeded.

Only public Dagster API: run requests with a partition range tag, and the instance's run
records to see when the first run is done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from telemetry_assets.defs.metrics.assets import active_users
from telemetry_assets.defs.observability.assets import anomalies
from telemetry_assets.defs.partitions import daily_partitions
from telemetry_assets.defs.reports.assets import daily_report, dashboard
from telemetry_assets.defs.resources import LandingZone
from telemetry_assets.landing.files import LandingFile
from telemetry_assets.windows import (
    ANOMALY_HISTORY_DAYS,
    USER_WINDOW_DAYS,
    event_days_of_file_day,
)

MAX_DAYS_PER_TICK = 31
MAX_KEYS_PER_TICK = 10_000
TICK_INTERVAL_SECONDS = 5
CHANGE_TAG = "telemetry/landing_change"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Assets whose partition reads a trailing window of earlier days, and everything below them
# (a test keeps this list equal to the asset graph's downstream closure of active_users).
WINDOW_ASSETS = [active_users.key, anomalies.key, daily_report.key, dashboard.key]
# How far after a changed day a trailing window still reads it.
WINDOW_REACH_DAYS = max(USER_WINDOW_DAYS - 1, ANOMALY_HISTORY_DAYS)
_DONE = {dg.DagsterRunStatus.SUCCESS}
_GAVE_UP = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


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
    previous: Mapping[str, str],
    files: list[LandingFile],
    max_days: int = MAX_DAYS_PER_TICK,
    listed: Callable[[str], bool] = lambda _: True,
) -> LandingChanges:
    """What changed since the cursor among the `listed` names, limited to the earliest
    `max_days` file days.

    Files of postponed days keep their old cursor entry (or none), so a later tick sees them
    again: a tick's work stays bounded however much has landed. Cursor entries outside the
    listed range are kept as they are.
    """
    current = {p: entry for p, entry in previous.items() if not listed(p)}
    current.update({f.rel_path: f"{f.file_day.isoformat()}|{f.fingerprint.token()}" for f in files})
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
    valid = set(daily_partitions.get_partition_keys())
    return [f for f in files if f.file_day.isoformat() in valid]


@dataclass(frozen=True)
class DayRange:
    first: dt.date
    last: dt.date

    def tags(self) -> dict[str, str]:
        return {RANGE_START_TAG: self.first.isoformat(), RANGE_END_TAG: self.last.isoformat()}


def _clamped(first: dt.date, last: dt.date) -> DayRange | None:
    keys = daily_partitions.get_partition_keys()
    low = max(first, dt.date.fromisoformat(keys[0]))
    high = min(last, dt.date.fromisoformat(keys[-1]))
    return DayRange(low, high) if low <= high else None


def affected_ranges(file_days: frozenset[dt.date]) -> tuple[DayRange | None, DayRange | None]:
    """(every asset's days, the later days of the trailing-window assets), within partitions."""
    core = _clamped(
        event_days_of_file_day(min(file_days))[0], event_days_of_file_day(max(file_days))[-1]
    )
    if core is None:
        return None, None
    windows = _clamped(
        core.last + dt.timedelta(days=1), core.last + dt.timedelta(days=WINDOW_REACH_DAYS)
    )
    return core, windows


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


@dataclass(frozen=True)
class Cursor:
    files: dict[str, str]  # landing name -> "file day|fingerprint"
    pending: list[dict[str, str]]  # window runs waiting for their core run
    listed_through: str  # last key of the previous page of a bucket ("" : start over)

    @classmethod
    def read(cls, text: str | None) -> Cursor:
        """A cursor of earlier versions held the fingerprints alone, and is read as such so
        an upgrade does not look like new files."""
        state: dict[str, Any] = json.loads(text) if text else {}
        if state and "files" not in state:
            return cls(state, [], "")
        return cls(state.get("files", {}), state.get("pending", []), state.get("listed", ""))

    def text(self) -> str:
        state = {"files": self.files, "pending": self.pending, "listed": self.listed_through}
        return json.dumps(state, sort_keys=True)


def _window_request(item: dict[str, str]) -> dg.RunRequest:
    window = DayRange(dt.date.fromisoformat(item["first"]), dt.date.fromisoformat(item["last"]))
    return dg.RunRequest(
        run_key=f"{item['after']}-windows",
        asset_selection=WINDOW_ASSETS,
        tags={**window.tags(), CHANGE_TAG: item["after"], "telemetry/stage": "windows"},
    )


def _follow_ups(
    context: dg.SensorEvaluationContext, pending: list[dict[str, str]]
) -> tuple[list[dg.RunRequest], list[dict[str, str]]]:
    """Window runs whose first run succeeded (to launch) and those still waiting."""
    launch, waiting = [], []
    for item in pending:
        runs = context.instance.get_runs(
            filters=dg.RunsFilter(tags={CHANGE_TAG: item["after"], "telemetry/stage": "core"})
        )
        statuses = {run.status for run in runs}
        if statuses & _DONE:
            launch.append(_window_request(item))
        elif statuses and statuses <= _GAVE_UP:
            context.log.warning(f"run for change {item['after']} failed; window days not rebuilt")
        else:
            waiting.append(item)
    return launch, waiting


@dg.sensor(
    asset_selection=dg.AssetSelection.all(),
    minimum_interval_seconds=TICK_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Picks up new, changed and deleted landing files; rebuilds the days they affect.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing: LandingZone
) -> dg.SensorResult | dg.SkipReason:
    before = Cursor.read(context.cursor)
    try:
        scan = landing.scan_page(before.listed_through, MAX_KEYS_PER_TICK)
    except dg.Failure as missing:
        return dg.SkipReason(missing.description)
    pending = before.pending
    requests, pending = _follow_ups(context, pending) if pending else ([], [])
    changes = diff_landing(before.files, partitioned_now(scan.files), listed=scan.covers)
    core, windows = affected_ranges(changes.file_days) if changes.file_days else (None, None)
    if core is not None:
        context.log.info(changes.summary())
        key = request_key(changes)
        requests.append(
            dg.RunRequest(
                run_key=key,
                tags={
                    **core.tags(),
                    CHANGE_TAG: key,
                    "telemetry/stage": "core",
                    "telemetry/file_days": ",".join(
                        d.isoformat() for d in sorted(changes.file_days)
                    ),
                },
            )
        )
        if windows is not None:
            pending.append(
                {"after": key, "first": windows.first.isoformat(), "last": windows.last.isoformat()}
            )
    cursor = Cursor(changes.cursor, pending, scan.through or "").text()
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    idle = f"no new, changed or deleted landing files ({len(scan.files)} seen)"
    if Cursor.read(cursor) == before:
        return dg.SkipReason(idle)
    return dg.SensorResult(skip_reason=idle, cursor=cursor)
