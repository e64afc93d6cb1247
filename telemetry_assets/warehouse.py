"""Where tables live and how they are written: hive day directories, atomic file swaps.

`<warehouse>/<table>/date=YYYY-MM-DD/*.parquet`. Every file is written under a hidden temporary
name in its final directory and renamed into place, so a reader sees either the old file or the
new one, never half of one; temporaries left by a killed run are removed by the next write.
Writers of one directory take its lock (an `flock`, released by the kernel even when a process is
killed), so one run's clean-up never deletes another run's file in flight.

On object storage (`s3://`, see `object_storage`) there is no rename and no lock: a file is
written locally first and then uploaded under its final key in one PUT, so readers still see
the old object or the new one and nothing is left behind to clean up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow.parquet as pq

from telemetry_assets.object_storage import StoragePath, check_bucket, is_remote, uri
from telemetry_assets.schemas.tables import Table

TEMP_SUFFIX = ".tmp"
LOCK_NAME = ".lock"
PART_NAME = "part-0.parquet"
COPY_BYTES = 8 * 1024 * 1024
# How every table file is written: fast zstd, with the column statistics readers prune on.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "statistics": True,
}


DAY_PREFIX = "date="


def day_dir(root: StoragePath, day: dt.date) -> StoragePath:
    """The hive-style folder of one day under `root` (tables and reports alike)."""
    return root / f"{DAY_PREFIX}{day.isoformat()}"


def partition_dir(root: StoragePath, table: str, day: dt.date) -> StoragePath:
    return day_dir(root / table, day)


def remove_temporaries(directory: StoragePath) -> list[StoragePath]:
    """Delete temporaries a killed writer left behind; returns what was removed."""
    if is_remote(directory) or not directory.is_dir():
        return []
    stale: list[StoragePath] = [
        p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def directory_lock(directory: StoragePath) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock on a local directory for the duration of a write.

    Object storage has none to take: writers of one partition are kept apart by the run
    coordinator's one-run-per-partition limit instead (deploy/dagster.yaml).
    """
    return nullcontext() if is_remote(directory) else _flock(directory)


@contextmanager
def _flock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_atomic(
    path: StoragePath,
    write: Callable[[Path], None],
    keep_existing: Callable[[], bool] | None = None,
) -> bool:
    """Write under the directory lock; `keep_existing` may veto replacing what is there."""
    if is_remote(path):
        return _upload_once(path, write, keep_existing)
    with directory_lock(path.parent):
        remove_temporaries(path.parent)
        if keep_existing is not None and keep_existing():
            return False
        temporary = temporary_path(path)
        try:
            write(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return True


def _upload_once(
    path: StoragePath, write: Callable[[Path], None], keep_existing: Callable[[], bool] | None
) -> bool:
    """Write a local file, then PUT it under its final key: the object appears complete."""
    if keep_existing is not None and keep_existing():
        return False
    with tempfile.TemporaryDirectory(prefix="telemetry-upload-") as scratch:
        local = Path(scratch) / path.name
        write(local)
        with local.open("rb") as source, path.open("wb") as target:
            shutil.copyfileobj(source, target, COPY_BYTES)
    return True


def write_parquet_atomic(
    frame: pl.DataFrame,
    path: StoragePath,
    metadata: dict[str, str] | None = None,
    keep_existing: Callable[[], bool] | None = None,
    row_group_size: int | None = None,
) -> bool:
    """Replace `path` with the frame; False when `keep_existing` vetoed the write."""
    return _replace_atomic(
        path,
        lambda temporary: frame.write_parquet(
            temporary,
            **PARQUET_OPTIONS,
            metadata=metadata,
            row_group_size=row_group_size,
        ),
        keep_existing,
    )


def sink_parquet_atomic(query: pl.LazyFrame, path: StoragePath, row_group_size: int) -> int:
    """Replace `path` with the query's rows, streamed (never the whole result in memory)."""

    def write(temporary: Path) -> None:
        query.sink_parquet(temporary, **PARQUET_OPTIONS, row_group_size=row_group_size)

    _replace_atomic(path, write)
    return pl.scan_parquet(uri(path)).select(pl.len()).collect().item()


def write_bytes_atomic(path: StoragePath, data: bytes) -> StoragePath:
    def write(temporary: Path) -> None:
        temporary.write_bytes(data)

    _replace_atomic(path, write)
    return path


def write_stream_atomic(
    path: StoragePath, source: IO[bytes], keep_existing: Callable[[], bool] | None = None
) -> bool:
    """Replace `path` with the rest of `source`, copied in pieces; False when vetoed."""

    def write(temporary: Path) -> None:
        with temporary.open("wb") as target:
            shutil.copyfileobj(source, target, COPY_BYTES)

    return _replace_atomic(path, write, keep_existing)


def write_partition(
    frame: pl.DataFrame, root: StoragePath, table: str, day: dt.date
) -> StoragePath:
    """Replace one day of a single-file table."""
    path = partition_dir(root, table, day) / PART_NAME
    write_parquet_atomic(frame, path)
    return path


def write_partitions(
    frames: dict[dt.date, pl.DataFrame], root: StoragePath, table: str
) -> dict[dt.date, StoragePath]:
    """Replace each day of a single-file table; the file of each day."""
    return {day: write_partition(frame, root, table, day) for day, frame in frames.items()}


def parquet_files(directory: StoragePath) -> list[StoragePath]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith("."))


def scan_partitions(root: StoragePath, table: str, days: list[dt.date]) -> list[StoragePath]:
    """The Parquet files of the given days of a table (days never written are skipped)."""
    return [path for day in days for path in parquet_files(partition_dir(root, table, day))]


def check_writable(root: StoragePath, setting: str = "TELEMETRY_WAREHOUSE_DIR") -> None:
    """Fail before anything is written when the folder cannot take files."""
    if is_remote(root):
        check_bucket(root, setting)
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)
    except OSError as error:
        raise PermissionError(
            f"folder {root} is not writable ({error.strerror}); "
            f"set {setting} to a folder this user can write"
        ) from None


def written_days(root: StoragePath, table: Table) -> list[dt.date]:
    """Days that have a partition directory, in order."""
    directory = root / table.name
    if not directory.is_dir():
        return []
    return sorted(
        dt.date.fromisoformat(p.name.removeprefix(DAY_PREFIX))
        for p in directory.glob(f"{DAY_PREFIX}*")
        if p.is_dir()
    )


def scan_table(root: StoragePath, table: Table, days: list[dt.date]) -> pl.LazyFrame:
    """The given days of a table as one lazy frame (days never written contribute no rows)."""
    files = scan_partitions(root, table.name, days)
    if not files:
        return table.empty().lazy()
    return pl.scan_parquet([uri(f) for f in files], schema=table.schema)


def parquet_footer(path: StoragePath) -> pq.FileMetaData:
    """A Parquet file's footer: its row count and key-value metadata, without its data."""
    with path.open("rb") as handle:
        return pq.read_metadata(handle)


def count_rows(root: StoragePath, table: Table, day: dt.date) -> int:
    """Rows of one day, summed from the Parquet footers (read directly: a query per day cost
    several times more, and checks over a range count day by day)."""
    return sum(parquet_footer(path).num_rows for path in scan_partitions(root, table.name, [day]))
