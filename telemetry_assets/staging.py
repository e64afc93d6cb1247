"""Staging landing files into `raw_events`: one Parquet part per landing file, parsed once.

A part records the fingerprint of the file version it was parsed from, the gate settings it
was judged under and the reader's own record count in its Parquet key-value metadata; a part
is reused while all of them still match, so an unchanged file is never parsed twice and a
changed one replaces its rows instead of doubling them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import polars as pl

from telemetry_assets import ingest, warehouse
from telemetry_assets.landing.files import Fingerprint, LandingFile
from telemetry_assets.landing.formats import decode
from telemetry_assets.landing.lines import read_lines
from telemetry_assets.schemas import timestamps
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.tables import RAW_EVENTS

# Bump when reading or validation changes, so parts judged by older code are parsed again.
PARSER_VERSION = "3"
RAW_ROW_GROUP = 131_072
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
BATCH_BYTES = 64 * 1024 * 1024
DECODE_CHUNK = 65_536  # records decoded at once: bounds the Python objects alive per worker
_SLUG = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class StagedFile:
    source_file: str
    file_day: dt.date
    records_read: int
    quarantined_by_reason: dict[str, int]
    read_error: str | None
    reused: bool


@dataclass
class StagingReport:
    staged: list[StagedFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        return sum(s.records_read for s in self.staged)

    def quarantined_by_reason(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for staged in self.staged:
            total.update(staged.quarantined_by_reason)
        return dict(sorted(total.items()))


def part_path(root: Path, file: LandingFile) -> Path:
    """A part name unique to the landing path that stays readable in a directory listing."""
    slug = _SLUG.sub("_", file.rel_path.replace("/", "__"))
    digest = hashlib.sha256(file.rel_path.encode()).hexdigest()[:10]
    return (
        warehouse.partition_dir(root, RAW_EVENTS.name, file.file_day) / f"{slug}-{digest}.parquet"
    )


def _version_token(file: LandingFile, late_days: int) -> dict[str, str]:
    return {
        "source_file": file.rel_path,
        "fingerprint": file.fingerprint.token(),
        "parser_version": PARSER_VERSION,
        "late_days": str(late_days),
    }


def _staged_from_metadata(metadata: dict[str, str], file: LandingFile) -> StagedFile:
    return StagedFile(
        source_file=file.rel_path,
        file_day=file.file_day,
        records_read=int(metadata["records_read"]),
        quarantined_by_reason=json.loads(metadata["quarantined_by_reason"]),
        read_error=metadata.get("read_error") or None,
        reused=True,
    )


def read_part_metadata(path: Path) -> dict[str, str]:
    return pl.read_parquet_metadata(path)


def current_part(root: Path, file: LandingFile, late_days: int) -> StagedFile | None:
    """The staged result of this exact file version, if a part for it already exists."""
    path = part_path(root, file)
    if not path.exists():
        return None
    metadata = read_part_metadata(path)
    wanted = _version_token(file, late_days)
    if any(metadata.get(key) != value for key, value in wanted.items()):
        return None
    return _staged_from_metadata(metadata, file)


def later_part(root: Path, file: LandingFile, late_days: int) -> StagedFile | None:
    """The part of the file's current version, when it changed since `file` was scanned."""
    try:
        info = os.stat(file.path)
    except FileNotFoundError:
        return None
    now = Fingerprint(size=info.st_size, mtime_ns=info.st_mtime_ns)
    if now == file.fingerprint:
        return None
    return current_part(root, dataclasses.replace(file, fingerprint=now), late_days)


def _decode_raw(lines: pl.Series) -> pl.Series:
    """The line as text; bytes that are not UTF-8 are kept visible as \\xNN escapes."""
    return pl.Series([line.decode("utf-8", "backslashreplace") for line in lines], dtype=pl.String)


def raw_rows(gated: pl.DataFrame) -> pl.DataFrame:
    """Gate output as `raw_events` rows: event fields for valid rows, the line for rejects."""
    valid = pl.col("reason").is_null()
    rejected = gated.filter(~valid)
    rejected = rejected.with_columns(raw=_decode_raw(rejected.get_column("raw")))
    accepted = gated.filter(valid).with_columns(
        raw=pl.lit(None, dtype=pl.String),
        timestamp=timestamps.utc_datetime(pl.col("ts_us")),
    )
    event_fields = [c for c in RAW_EVENTS.columns if c not in _ALWAYS_KEPT]
    rejected = rejected.with_columns(pl.lit(None).alias(c) for c in event_fields)
    accepted = accepted.with_columns(id60=ingest.identity_prefix(pl.col("event_id")))
    both = pl.concat([RAW_EVENTS.conform(part) for part in (accepted, rejected)])
    return both.sort(ingest.POSITION)


_ALWAYS_KEPT = frozenset(
    {"source_file", "source_line", "file_day", "format", "reason", "detail", "raw"}
)


@dataclass(frozen=True)
class ReadFile:
    file: LandingFile
    records_read: int
    read_error: str | None


def read_candidates(file: LandingFile) -> tuple[pl.DataFrame, ReadFile]:
    """One file's records as gate candidates, tagged with their source and file day."""
    lines = read_lines(file.path, file.gzipped, file.fmt.has_header)
    frames = [decode(file.fmt, chunk) for chunk in lines.chunks(DECODE_CHUNK)]
    candidates = pl.concat(frames).with_columns(
        source_file=pl.lit(file.rel_path), file_day=pl.lit(file.file_day, dtype=pl.Date)
    )
    return candidates, ReadFile(file, len(lines), lines.read_error)


def parse_files(files: list[LandingFile], late_days: int) -> tuple[pl.DataFrame, list[ReadFile]]:
    """Read and decode several files, then gate all their records in one pass."""
    frames, reads = [], []
    for file in files:
        candidates, read = read_candidates(file)
        frames.append(candidates)
        reads.append(read)
    return raw_rows(apply_gate(pl.concat(frames), late_days)), reads


def write_parts(root: Path, files: list[LandingFile], late_days: int) -> list[StagedFile]:
    """Parse a batch of landing files and replace each one's part."""
    rows, reads = parse_files(files, late_days)
    parts = rows.partition_by("source_file", as_dict=True, maintain_order=True)
    return [
        _write_part(root, read, parts.get((read.file.rel_path,), RAW_EVENTS.empty()), late_days)
        for read in reads
    ]


def _write_part(root: Path, read: ReadFile, rows: pl.DataFrame, late_days: int) -> StagedFile:
    file = read.file
    if rows.height != read.records_read:
        raise AssertionError(
            f"{file.rel_path}: {read.records_read} records read, {rows.height} rows"
        )
    quarantined = ingest.count_reasons(rows.get_column("reason"))
    metadata = {
        **_version_token(file, late_days),
        "records_read": str(read.records_read),
        "quarantined_by_reason": json.dumps(quarantined, sort_keys=True),
        "read_error": read.read_error or "",
    }
    newer: list[StagedFile] = []

    def superseded() -> bool:
        """A concurrent run already staged a later version of this file: never go back."""
        newer.extend(filter(None, [later_part(root, file, late_days)]))
        return bool(newer)

    if not warehouse.write_parquet_atomic(
        rows,
        part_path(root, file),
        metadata=metadata,
        keep_existing=superseded,
        row_group_size=RAW_ROW_GROUP,
    ):
        return newer[0]
    return StagedFile(
        file.rel_path, file.file_day, read.records_read, quarantined, read.read_error, False
    )


def remove_stale_parts(root: Path, day: dt.date, files: list[LandingFile]) -> list[str]:
    """Delete parts whose landing file is gone (their rows leave the day) and old temporaries."""
    keep = {part_path(root, f) for f in files if f.file_day == day}
    directory = warehouse.partition_dir(root, RAW_EVENTS.name, day)
    if not directory.is_dir():
        return []
    with warehouse.directory_lock(directory):
        warehouse.remove_temporaries(directory)
        stale = [p for p in warehouse.parquet_files(directory) if p not in keep]
        removed = [read_part_metadata(p).get("source_file", p.name) for p in stale]
        for path in stale:
            path.unlink(missing_ok=True)
    return removed


def batches(files: list[LandingFile], workers: int) -> list[list[LandingFile]]:
    """Split files into batches of about BATCH_BYTES, at least one per worker when it pays."""
    total = sum(f.fingerprint.size for f in files)
    target = max(1, min(BATCH_BYTES, total // max(workers, 1)))
    result: list[list[LandingFile]] = []
    current: list[LandingFile] = []
    size = 0
    for file in files:
        if current and size + file.fingerprint.size > target:
            result.append(current)
            current, size = [], 0
        current.append(file)
        size += file.fingerprint.size
    if current:
        result.append(current)
    return result


def stage_files(
    root: Path, files: list[LandingFile], late_days: int, workers: int | None = None
) -> list[StagedFile]:
    """Stage files whose part is missing or outdated, in batches; big jobs use worker processes.

    Batches bound memory (a batch holds about BATCH_BYTES of landing data at once) and share
    the gate's fixed cost among small files.
    """
    staged = {f.rel_path: current_part(root, f, late_days) for f in files}
    pending = [f for f in files if staged[f.rel_path] is None]
    workers = workers or os.cpu_count() or 1
    parallel = workers > 1 and sum(f.fingerprint.size for f in pending) >= PARALLEL_MIN_BYTES
    jobs = batches(pending, workers if parallel else 1)
    if parallel and len(jobs) > 1:
        context = get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            results = pool.map(write_parts, [root] * len(jobs), jobs, [late_days] * len(jobs))
            parsed = [item for batch in results for item in batch]
    else:
        parsed = [item for job in jobs for item in write_parts(root, job, late_days)]
    staged.update((result.source_file, result) for result in parsed)
    return [staged[f.rel_path] for f in files]
