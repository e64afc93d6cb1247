"""Where tables live and how they are written: hive day directories, atomic file swaps.

`<warehouse>/<table>/date=YYYY-MM-DD/*.parquet`. Every file is written under a hidden temporary
name in its final directory and renamed into place, so a reader sees either the old file or the
new one, never half of one; temporaries left by a killed run are removed by the next write.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import polars as pl

from telemetry_assets.schemas.tables import Table

TEMP_SUFFIX = ".tmp"
PART_NAME = "part-0.parquet"


def partition_dir(root: Path, table: str, day: dt.date) -> Path:
    return root / table / f"date={day.isoformat()}"


def partition_file(root: Path, table: str, day: dt.date) -> Path:
    return partition_dir(root, table, day) / PART_NAME


def remove_temporaries(directory: Path) -> list[Path]:
    """Delete temporaries a killed writer left behind; returns what was removed."""
    if not directory.is_dir():
        return []
    stale = [
        p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def write_parquet_atomic(
    frame: pl.DataFrame, path: Path, metadata: dict[str, str] | None = None
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        frame.write_parquet(temporary, compression="zstd", statistics=True, metadata=metadata)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_partition(frame: pl.DataFrame, root: Path, table: str, day: dt.date) -> Path:
    """Replace one day of a single-file table."""
    directory = partition_dir(root, table, day)
    remove_temporaries(directory)
    return write_parquet_atomic(frame, directory / PART_NAME)


def parquet_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith("."))


def scan_partitions(root: Path, table: str, days: list[dt.date]) -> list[Path]:
    """The Parquet files of the given days of a table (days never written are skipped)."""
    return [path for day in days for path in parquet_files(partition_dir(root, table, day))]


def check_writable(root: Path, setting: str = "TELEMETRY_WAREHOUSE_DIR") -> None:
    """Fail before anything is written when the folder cannot take files."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(root / "write-probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise PermissionError(
            f"folder {root} is not writable ({error.strerror}); "
            f"set {setting} to a folder this user can write"
        ) from None


def written_days(root: Path, table: Table) -> list[dt.date]:
    """Days that have a partition directory, in order."""
    directory = root / table.name
    if not directory.is_dir():
        return []
    return sorted(
        dt.date.fromisoformat(p.name.removeprefix("date="))
        for p in directory.glob("date=*")
        if p.is_dir()
    )


def scan_table(root: Path, table: Table, days: list[dt.date]) -> pl.LazyFrame:
    """The given days of a table as one lazy frame (days never written contribute no rows)."""
    files = scan_partitions(root, table.name, days)
    if not files:
        return table.empty().lazy()
    return pl.scan_parquet(files, schema=table.schema)


def count_rows(root: Path, table: Table, day: dt.date) -> int:
    """Rows of one day, from the Parquet footers."""
    files = scan_partitions(root, table.name, [day])
    return pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
