"""The `retention` job: delete expired day partitions, record each deletion, on a daily schedule.

What is expired is decided in `telemetry_assets.retention` (never a partition a window of a
kept day still needs); here it is wired to the warehouse resource, the run's metadata and an
append-only ledger `<warehouse>/_retention/deletions.jsonl` (one JSON object per deleted
partition; the leading `_` keeps it out of the table names).
"""

import datetime as dt
import json
import os
from typing import Any

import dagster as dg
from pydantic import field_validator

from telemetry_assets import object_storage, settings, warehouse
from telemetry_assets.defs.metrics.assets import first_event_day
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.retention import (
    FAMILY_OF,
    Deletion,
    RetentionPolicy,
    delete_expired,
    expired_partitions,
)
from telemetry_assets.schemas.tables import TABLES

LEDGER_DIR = "_retention"
LEDGER_NAME = "deletions.jsonl"
# After the daily pipeline schedule (00:05 UTC) has built yesterday.
RETENTION_CRON = "30 1 * * *"


class Retention(dg.ConfigurableResource):
    """Days to keep per table family (0 = forever); defaults from TELEMETRY_RETAIN_*."""

    raw_days: int
    events_days: int
    aggregate_days: int

    @classmethod
    def from_env(cls) -> "Retention":
        policy = RetentionPolicy.from_env()
        return cls(
            raw_days=policy.raw_days,
            events_days=policy.events_days,
            aggregate_days=policy.aggregate_days,
        )

    @field_validator("raw_days")
    @classmethod
    def _raw(cls, value: int) -> int:
        return settings.parse_retain_days(value, settings.RETAIN_RAW_DAYS)

    @field_validator("events_days")
    @classmethod
    def _events(cls, value: int) -> int:
        return settings.parse_retain_days(value, settings.RETAIN_EVENTS_DAYS)

    @field_validator("aggregate_days")
    @classmethod
    def _aggregates(cls, value: int) -> int:
        return settings.parse_retain_days(value, settings.RETAIN_AGGREGATE_DAYS)

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(self.raw_days, self.events_days, self.aggregate_days)


class RetentionRun(dg.Config):
    reference_day: str = ""  # YYYY-MM-DD; empty means today (UTC)
    dry_run: bool = False  # list what would be deleted, delete nothing


def append_ledger(root: StoragePath, rows: list[dict[str, Any]]) -> StoragePath:
    """Append one line per deletion, under the ledger folder's lock, flushed to disk.

    An object cannot be appended to: on object storage the ledger is read and written back
    whole (retention runs one at a time, so nothing is lost between the two).
    """
    directory = root / LEDGER_DIR
    path = directory / LEDGER_NAME
    if not rows:
        return path
    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    if object_storage.is_remote(path):
        before = path.read_bytes() if path.exists() else b""
        return warehouse.write_bytes_atomic(path, before + text.encode())
    with warehouse.directory_lock(directory), path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def observe_deletions(
    context: dg.OpExecutionContext, by_table: dict[str, list[str]]
) -> list[dg.AssetObservation]:
    """One observation per deleted day of an asset, so its history in the UI says when and by
    which run the day went. (Dagster's open-source event log cannot un-materialize a
    partition, so the day still counts as materialized there.)"""
    observations = []
    for table, days in by_table.items():
        key = dg.AssetKey(table)
        materialized = context.instance.get_materialized_partitions(key)
        observations += [
            dg.AssetObservation(
                key, partition=day, metadata={"deleted_by_retention_run": context.run_id}
            )
            for day in days
            if day in materialized
        ]
    return observations


def ledger_rows(
    deleted: list[Deletion], reference_day: dt.date, policy: RetentionPolicy, run_id: str
) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return [
        {
            "deleted_at": now,
            "run_id": run_id,
            "reference_day": reference_day.isoformat(),
            "table": d.table,
            "family": FAMILY_OF[d.table],
            "date": d.day.isoformat(),
            "files": d.files,
            "bytes": d.bytes,
            "policy": {
                "raw_days": policy.raw_days,
                "events_days": policy.events_days,
                "aggregate_days": policy.aggregate_days,
            },
        }
        for d in deleted
    ]


@dg.op(out=dg.Out(dict, description="Deleted days per table (ISO dates)."))
def delete_expired_partitions(
    context: dg.OpExecutionContext,
    config: RetentionRun,
    warehouse_store: Warehouse,
    retention: Retention,
) -> dg.Output[dict]:
    """Delete the day partitions the retention policy lets go, and record each one."""
    policy = retention.policy()
    try:
        reference_day = (
            dt.date.fromisoformat(config.reference_day)
            if config.reference_day
            else dt.datetime.now(dt.UTC).date()
        )
    except ValueError:
        raise dg.Failure(
            description=f"reference_day={config.reference_day!r} is not a date (YYYY-MM-DD)"
        ) from None
    root = warehouse_store.root()
    written = {name: warehouse.written_days(root, table) for name, table in TABLES.items()}
    expired = expired_partitions(written, policy, reference_day, first_event_day(root))
    if config.dry_run:
        deleted = []
    else:
        deleted = delete_expired(root, expired)
        append_ledger(root, ledger_rows(deleted, reference_day, policy, context.run_id))
    by_table: dict[str, list[str]] = {}
    bytes_by_table: dict[str, int] = {}
    for d in deleted:
        by_table.setdefault(d.table, []).append(d.day.isoformat())
        bytes_by_table[d.table] = bytes_by_table.get(d.table, 0) + d.bytes
    for table, days in by_table.items():
        context.log.info(
            f"retention deleted {len(days)} day(s) of {table} "
            f"({days[0]} .. {days[-1]}, {bytes_by_table[table]} bytes)"
        )
    for observation in observe_deletions(context, by_table):
        context.log_event(observation)
    if not policy.configured:
        context.log.info("no retention policy configured (TELEMETRY_RETAIN_*): nothing deleted")
    return dg.Output(
        by_table,
        metadata={
            "reference_day": reference_day.isoformat(),
            "dry_run": config.dry_run,
            "policy": dg.MetadataValue.json(
                {
                    "raw_days": policy.raw_days,
                    "events_days": policy.events_days,
                    "aggregate_days": policy.aggregate_days,
                }
            ),
            "expired": dg.MetadataValue.json(
                {t: [d.isoformat() for d in days] for t, days in expired.items()}
            ),
            "deleted": dg.MetadataValue.json(by_table),
            "deleted_partitions": len(deleted),
            "deleted_bytes": sum(d.bytes for d in deleted),
            "bytes_by_table": dg.MetadataValue.json(bytes_by_table),
            "ledger": dg.MetadataValue.path(str(root / LEDGER_DIR / LEDGER_NAME)),
        },
    )


@dg.job(
    name="retention",
    description="Delete expired day partitions per table family (TELEMETRY_RETAIN_*).",
)
def retention_job() -> None:
    delete_expired_partitions()


def _schedule_status() -> dg.DefaultScheduleStatus:
    """Running only when a policy is configured: an unconfigured run would delete nothing."""
    configured = RetentionPolicy.from_env().configured
    return dg.DefaultScheduleStatus.RUNNING if configured else dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    cron_schedule=RETENTION_CRON,
    execution_timezone="UTC",
    job=retention_job,
    default_status=_schedule_status(),
)
def retention_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Daily; the reference day is the scheduled day, so a late tick deletes the same days."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(
        run_key=f"retention-{day}",
        run_config={"ops": {"delete_expired_partitions": {"config": {"reference_day": day}}}},
    )
