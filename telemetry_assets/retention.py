"""Retention: which day partitions have expired, and removing them atomically (pure logic).

Tables fall into families, each kept for a number of days ending on a reference day (the
day the job runs); 0 keeps a family forever, the default, so nothing is deleted until a
policy is configured. A family's policy is an upper bound on what is deleted: a partition a
kept partition can still be rebuilt from, or a window of a kept day still reads, is never
deleted, whatever its own policy says:

- raw (`raw_events`, `quarantine`, by file day): the events of day D are rebuilt from file days
  D-EARLY_DAYS .. D+LATE_DAYS, so every file day from the oldest kept events day minus
  EARLY_DAYS on stays; `quarantine` follows `raw_events` day for day, so the conservation check
  of every events day that can still be rebuilt (and its ingest_stats) stays checkable. With
  events kept forever, raw is therefore kept forever too.
- events: the first day with events also stays: `active_users` nulls a window that starts
  before it, so deleting it would change the recomputed WAU/MAU of kept days.
- aggregates (ingest_stats and every metric / observability table): facts, rebuilt from nothing
  older than themselves except the window inputs below; an ingest_stats row outlives the raw
  data its conservation was checked against when the day was built.
- window inputs (`daily_users`, `metric_series`, `log_pattern_state`, internal): follow the
  aggregate policy, but `daily_users` of the USER_WINDOW_DAYS window of every kept
  `active_users` day, `metric_series` of the ANOMALY_HISTORY_DAYS+1 window of every kept
  `anomalies` day and the latest `log_pattern_state` before the oldest kept `log_patterns`
  day (the miner's state chain) stay.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from upath import UPath

from telemetry_assets import settings, warehouse
from telemetry_assets.object_storage import StoragePath, is_remote
from telemetry_assets.schemas.tables import (
    ACTIVE_USERS,
    ALERTS,
    ANOMALIES,
    DAILY_USERS,
    EVENT_COUNTS,
    EVENTS,
    FEATURE_USAGE,
    INGEST_STATS,
    LATENCY_BY_FEATURE,
    LATENCY_BY_SERVICE,
    LOG_PATTERN_STATE,
    LOG_PATTERNS,
    METRIC_SERIES,
    QUARANTINE,
    RAW_EVENTS,
    SERVICE_HEALTH,
)
from telemetry_assets.windows import ANOMALY_HISTORY_DAYS, EARLY_DAYS, USER_WINDOW_DAYS

RAW, EVENTS_FAMILY, AGGREGATES, WINDOW_INPUTS = "raw", "events", "aggregates", "window_inputs"

FAMILIES: dict[str, tuple[str, ...]] = {
    RAW: (RAW_EVENTS.name, QUARANTINE.name),
    EVENTS_FAMILY: (EVENTS.name,),
    AGGREGATES: (
        INGEST_STATS.name,
        EVENT_COUNTS.name,
        FEATURE_USAGE.name,
        ACTIVE_USERS.name,
        LATENCY_BY_FEATURE.name,
        LATENCY_BY_SERVICE.name,
        SERVICE_HEALTH.name,
        ALERTS.name,
        LOG_PATTERNS.name,
        ANOMALIES.name,
    ),
    # No setting of their own: kept as long as the aggregates, and longer where a window needs.
    WINDOW_INPUTS: (DAILY_USERS.name, METRIC_SERIES.name, LOG_PATTERN_STATE.name),
}
FAMILY_OF = {table: family for family, tables in FAMILIES.items() for table in tables}

# Hidden name a day folder is renamed to before removal: no reader globs it (`date=*`), and
# it does not end in warehouse.TEMP_SUFFIX, so a writer's file clean-up never touches it.
DELETING_SUFFIX = ".deleting"


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep per family, ending on the reference day; 0 keeps forever."""

    raw_days: int = 0
    events_days: int = 0
    aggregate_days: int = 0

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        def days(setting: settings.Setting) -> int:
            return settings.parse_retain_days(settings.env_value(setting), setting)

        return cls(
            raw_days=days(settings.RETAIN_RAW_DAYS),
            events_days=days(settings.RETAIN_EVENTS_DAYS),
            aggregate_days=days(settings.RETAIN_AGGREGATE_DAYS),
        )

    def __post_init__(self) -> None:
        for setting, value in (
            (settings.RETAIN_RAW_DAYS, self.raw_days),
            (settings.RETAIN_EVENTS_DAYS, self.events_days),
            (settings.RETAIN_AGGREGATE_DAYS, self.aggregate_days),
        ):
            settings.parse_retain_days(value, setting)

    @property
    def configured(self) -> bool:
        return any((self.raw_days, self.events_days, self.aggregate_days))


def cutoff(days: int, reference_day: dt.date) -> dt.date | None:
    """The oldest day a policy of `days` keeps (None: everything is kept)."""
    return reference_day - dt.timedelta(days=days - 1) if days > 0 else None


def _earliest(*days: dt.date | None) -> dt.date | None:
    """The oldest of several 'keep from' days; None (keep everything) wins."""
    if any(day is None for day in days):
        return None
    return min(day for day in days if day is not None)


def keep_from(
    policy: RetentionPolicy,
    reference_day: dt.date,
) -> dict[str, dt.date | None]:
    """Per table, the oldest day kept by its policy and the windows (None: keep everything).

    The exceptions to a plain 'keep from' day (first events day, log_pattern_state's chain)
    are applied in `expired_partitions`.
    """
    events_from = cutoff(policy.events_days, reference_day)
    aggregates_from = cutoff(policy.aggregate_days, reference_day)
    # Raw of file day F feeds events days F-LATE .. F+EARLY: F is needed while F+EARLY is kept.
    raw_needed = None if events_from is None else events_from - dt.timedelta(days=EARLY_DAYS)
    raw_from = (
        None
        if cutoff(policy.raw_days, reference_day) is None
        else _earliest(cutoff(policy.raw_days, reference_day), raw_needed)
    )
    result: dict[str, dt.date | None] = {}
    for table in FAMILIES[RAW]:
        result[table] = raw_from
    result[EVENTS.name] = events_from
    for table in FAMILIES[AGGREGATES]:
        result[table] = aggregates_from
    if aggregates_from is None:
        for table in FAMILIES[WINDOW_INPUTS]:
            result[table] = None
    else:
        # active_users[D] reads daily_users of trailing(D, USER_WINDOW_DAYS).
        result[DAILY_USERS.name] = aggregates_from - dt.timedelta(days=USER_WINDOW_DAYS - 1)
        # anomalies[D] reads metric_series of trailing(D, ANOMALY_HISTORY_DAYS + 1).
        result[METRIC_SERIES.name] = aggregates_from - dt.timedelta(days=ANOMALY_HISTORY_DAYS)
        result[LOG_PATTERN_STATE.name] = aggregates_from
    return result


def expired_partitions(
    written: Mapping[str, Sequence[dt.date]],
    policy: RetentionPolicy,
    reference_day: dt.date,
    first_event_day: dt.date | None = None,
) -> dict[str, list[dt.date]]:
    """The written day partitions, per table, that may be deleted (tables with none omitted).

    `written` maps table names to their written days; a table of no family is never touched.
    """
    limits = keep_from(policy, reference_day)
    expired: dict[str, list[dt.date]] = {}
    for table, days in written.items():
        start = limits.get(table)
        if table not in FAMILY_OF or start is None:
            continue
        old = sorted(day for day in days if day < start)
        if table == EVENTS.name and first_event_day is not None:
            old = [day for day in old if day != first_event_day]
        if table == LOG_PATTERN_STATE.name and old:
            # log_patterns[K] starts from the latest state before K: keep the one before the
            # oldest kept day.
            old = old[:-1]
        if old:
            expired[table] = old
    return expired


@dataclass(frozen=True)
class Deletion:
    table: str
    day: dt.date
    files: int
    bytes: int


def _size(directory: Path) -> tuple[int, int]:
    files = [p for p in directory.rglob("*") if p.is_file() and p.name != warehouse.LOCK_NAME]
    return len(files), sum(p.stat().st_size for p in files)


def remove_leftovers(table_dir: Path) -> list[Path]:
    """Day folders a killed retention run renamed but did not finish removing."""
    if not table_dir.is_dir():
        return []
    stale = [
        p
        for p in table_dir.iterdir()
        if p.is_dir() and p.name.startswith(".") and p.name.endswith(DELETING_SUFFIX)
    ]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def delete_partition(root: StoragePath, table: str, day: dt.date) -> Deletion | None:
    """Remove one day of a table; None when the day is not there."""
    if is_remote(root):
        return _delete_objects(root, table, day)
    return _delete_folder(root, table, day)


def _delete_folder(root: Path, table: str, day: dt.date) -> Deletion | None:
    """Remove one day folder atomically: a reader sees the whole day or none of it.

    Under the table's lock (one retention run at a time) and the day's lock (the one its
    writers take), the folder is renamed to a hidden name, then removed.
    """
    table_dir = root / table
    directory = cast(Path, warehouse.partition_dir(root, table, day))
    if not directory.is_dir():
        return None
    with warehouse.directory_lock(table_dir):
        remove_leftovers(table_dir)
        if not directory.is_dir():
            return None
        with warehouse.directory_lock(directory):
            files, size = _size(directory)
            hidden = table_dir / f".{directory.name}.{uuid.uuid4().hex}{DELETING_SUFFIX}"
            os.rename(directory, hidden)
        shutil.rmtree(hidden)
    return Deletion(table=table, day=day, files=files, bytes=size)


def _delete_objects(root: UPath, table: str, day: dt.date) -> Deletion | None:
    """Delete the objects of one day. Object storage cannot hide several objects at once:
    a single-file day goes in one request, a multi-part day (raw_events) part by part, and a
    retention run killed midway leaves a day that the next run finishes deleting."""
    prefix = cast(UPath, warehouse.partition_dir(root, table, day)).path
    objects = root.fs.find(prefix, detail=True)
    if not objects:
        return None
    # One recursive delete also drops the folder marker pyarrow leaves for an emptied prefix.
    root.fs.rm(prefix, recursive=True)
    size = sum(int(entry["size"]) for entry in objects.values())
    return Deletion(table=table, day=day, files=len(objects), bytes=size)


def delete_expired(root: StoragePath, expired: Mapping[str, Sequence[dt.date]]) -> list[Deletion]:
    """Delete every listed partition; returns what was actually removed."""
    deleted = []
    for table, days in expired.items():
        for day in days:
            done = delete_partition(root, table, day)
            if done is not None:
                deleted.append(done)
    return deleted
