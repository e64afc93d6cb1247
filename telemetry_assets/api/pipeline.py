"""The service's one door into the pipeline: settings, landing names, verdicts, warehouse scans.

The service must give exactly the verdicts the pipeline will give and read exactly the tables
the pipeline writes, so it calls the pipeline's own code instead of copying its rules. Every
import of pipeline internals lives in this module: when the pipeline's modules move, only the
imports here change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

from telemetry_assets import object_storage, settings
from telemetry_assets.landing.decoders import decode_block
from telemetry_assets.landing.files import FileFormat, classify
from telemetry_assets.landing.lines import Block
from telemetry_assets.landing.log_records import log_event
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.tables import ALERTS, ANOMALIES, EVENTS, INGEST_STATS
from telemetry_assets.warehouse import parquet_files, partition_dir

ConfigurationError = settings.ConfigurationError

EVENTS_TABLE = EVENTS.name
ALERTS_TABLE = ALERTS.name
ANOMALIES_TABLE = ANOMALIES.name
# The ledger's outcomes: every record read is exactly one of these (DESIGN §4, conservation).
LEDGER_OUTCOMES = ("valid", "duplicates_removed", "quarantined")


class Kind(StrEnum):
    """What an ingest route takes; the value is the landing file name prefix (DESIGN §4)."""

    EVENTS = "events"
    METRICS = "metrics"
    LOGS = "logs"


# The pipeline reader of each kind's files.
_FORMATS: dict[Kind, FileFormat] = {
    Kind.EVENTS: FileFormat.EVENTS,
    Kind.METRICS: FileFormat.METRICS,
    Kind.LOGS: FileFormat.LOGS,
}


def landing_dir() -> Path:
    """The collector's landing folder: local, because it appends, fsyncs and renames files."""
    root = object_storage.resolve(settings.env_value(settings.LANDING_DIR))
    if object_storage.is_remote(root):
        raise ConfigurationError(
            f"{settings.LANDING_DIR.env}={root}: the collector writes landing files with "
            "append, fsync and rename, so it needs a local folder; run it with a local "
            "landing folder and copy finished files to the bucket (the sensor reads either)"
        )
    return root


def warehouse_dir() -> StoragePath:
    return object_storage.resolve(settings.env_value(settings.WAREHOUSE_DIR))


def log_level(level: str) -> str:
    """A log level as the pipeline stores it (`warn` -> `WARNING`), for filtering by it."""
    return str(log_event(level))


def late_days() -> int:
    return settings.late_days()


def landing_name(kind: Kind, hour: dt.datetime, suffix: str) -> str:
    """`<kind>-YYYY-MM-DDTHH<suffix>.jsonl`, checked against the pipeline's own name patterns so
    a file the service lands is always one the pipeline reads, with the intended file day."""
    name = f"{kind.value}-{hour:%Y-%m-%dT%H}{suffix}.jsonl"
    fmt = _FORMATS[kind]
    if classify(name) != (fmt, hour.date(), False):
        raise ValueError(f"{name!r} is not a {fmt} landing file name of day {hour.date()}")
    return name


@dataclass(frozen=True)
class Verdicts:
    """The gate's verdict on each record of one request, and its valid records.

    `reasons[i]` is the reason code record i will be quarantined with (None: valid).
    `valid` holds the valid
    records shaped like rows of the `events` table (event_id, timestamp, channel, event,
    service, payload), so live rows and warehouse rows go through the same queries.
    """

    reasons: list[str | None]
    valid: pl.DataFrame


VALID_COLUMNS = ("event_id", "timestamp", "channel", "event", "service", "payload")
_BATCH = "_batch"


def empty_events() -> pl.DataFrame:
    """No rows, with the columns of `Verdicts.valid`."""
    return pl.DataFrame(schema={name: EVENTS.schema[name] for name in VALID_COLUMNS})


def judge(batches: list[tuple[Kind, bytes, int]], file_day: dt.date) -> list[Verdicts]:
    """Verdicts for each batch (kind, its landing lines as bytes, its record count), as records
    of a landing file of `file_day`.

    The lines of all batches of a kind are decoded as one block, exactly as the pipeline will
    read the file they land in, and everything goes through one gate call: the fixed costs are
    paid once per group of concurrent requests, not once per request.
    """
    frames = []
    for kind, fmt in _FORMATS.items():
        members = [(i, n) for i, (k, _, n) in enumerate(batches) if k is kind and n]
        if not members:
            continue
        data = b"".join(batches[i][1] for i, _ in members)
        owner = pl.Series(_BATCH, [i for i, n in members for _ in range(n)], pl.Int32)
        frames.append(decode_block(fmt, Block(data, 1, True)).with_columns(owner))
    gated = None
    if frames:
        candidates = pl.concat(frames).with_columns(file_day=pl.lit(file_day))
        gate = apply_gate(candidates, late_days(), settings.start_date())
        gated = gate.partition_by(_BATCH, as_dict=True)
    results = []
    for index, (_, _, count) in enumerate(batches):
        mine = gated.get((index,)) if gated else None
        if mine is None:
            results.append(Verdicts([None] * count, empty_events()))
            continue
        valid = mine.filter(pl.col("reason").is_null()).select(
            "event_id",
            timestamp=pl.from_epoch("ts_us", time_unit="us").dt.replace_time_zone("UTC"),
            channel="channel",
            event="event",
            service="service",
            payload="payload",
        )
        results.append(Verdicts(mine.get_column("reason").to_list(), valid))
    return results


def warm_up() -> None:
    """Gate one record of each kind, so the gate's lazy imports and model builds (about a
    second) happen at start-up rather than in the first requests."""
    judge([(kind, b"{}\n", 1) for kind in Kind], dt.datetime.now(dt.UTC).date())


def _days(table: str) -> list[dt.date]:
    directory = warehouse_dir() / table
    if not directory.is_dir():
        return []
    days = []
    for path in directory.glob("date=*"):
        try:
            days.append(dt.date.fromisoformat(path.name.removeprefix("date=")))
        except ValueError:
            continue
    return sorted(days)


def scan_days(
    table: str, first: dt.date | None = None, last: dt.date | None = None
) -> pl.LazyFrame | None:
    """The table's day partitions within [first, last] (None: unbounded), read-only; None when
    the table has no such partitions (or does not exist yet)."""
    root = warehouse_dir()
    days = [
        d for d in _days(table) if (first is None or d >= first) and (last is None or d <= last)
    ]
    files = [path for day in days for path in parquet_files(partition_dir(root, table, day))]
    return pl.scan_parquet([object_storage.uri(f) for f in files]) if files else None


def ledger() -> dict[str, int]:
    """The pipeline's record ledger summed over all days: records per outcome."""
    scan = scan_days(INGEST_STATS.name)
    if scan is None:
        return dict.fromkeys(LEDGER_OUTCOMES, 0)
    totals = scan.select(pl.col(name).sum() for name in LEDGER_OUTCOMES).collect()
    return {name: int(totals.item(0, name) or 0) for name in LEDGER_OUTCOMES}
