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
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from telemetry_assets import dedup, warehouse
from telemetry_assets.landing.candidate_rows import RecordError
from telemetry_assets.landing.decoders import decode_blocks
from telemetry_assets.landing.files import FileFormat, LandingFile, fingerprint
from telemetry_assets.landing.lines import BLOCK_BYTES, Block, LineBlocks
from telemetry_assets.object_storage import StoragePath, is_remote, uri
from telemetry_assets.schemas import timestamps
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.tables import RAW_EVENTS
from telemetry_assets.windows import LATE_DAYS, START_DATE

# Bump when reading or validation changes, so parts judged by older code are parsed again.
PARSER_VERSION = "5"
RAW_ROW_GROUP = 131_072
# Records gated at once: bounds a worker's memory (the gate holds a few copies of its window;
# at half a row group a worker peaked ~130 MB lower on the benchmark day, at the same speed).
GATE_ROWS = RAW_ROW_GROUP // 2
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
BATCH_BYTES = 64 * 1024 * 1024
# A part's encoding kept in memory before it spills to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024
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


def part_path(root: StoragePath, file: LandingFile) -> StoragePath:
    """A part name unique to the landing path that stays readable in a directory listing."""
    slug = _SLUG.sub("_", file.rel_path.replace("/", "__"))
    digest = hashlib.sha256(file.rel_path.encode()).hexdigest()[:10]
    return (
        warehouse.partition_dir(root, RAW_EVENTS.name, file.file_day) / f"{slug}-{digest}.parquet"
    )


def _version_token(file: LandingFile) -> dict[str, str]:
    """What a part was judged from and under: a change to any of it means parsing again."""
    return {
        "source_file": file.rel_path,
        "fingerprint": file.fingerprint.token(),
        "parser_version": PARSER_VERSION,
        "late_days": str(LATE_DAYS),
        "start_date": START_DATE.isoformat(),
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


def read_part_metadata(path: StoragePath) -> dict[str, str]:
    return pl.read_parquet_metadata(uri(path))


def current_part(root: StoragePath, file: LandingFile) -> StagedFile | None:
    """The staged result of this exact file version, if a part for it already exists."""
    path = part_path(root, file)
    if not path.exists():
        return None
    metadata = read_part_metadata(path)
    wanted = _version_token(file)
    if any(metadata.get(key) != value for key, value in wanted.items()):
        return None
    return _staged_from_metadata(metadata, file)


def later_part(root: StoragePath, file: LandingFile) -> StagedFile | None:
    """The part of the file's current version, when it changed since `file` was scanned."""
    now = fingerprint(file.path)
    if now is None or now == file.fingerprint:
        return None
    return current_part(root, dataclasses.replace(file, fingerprint=now))


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
    accepted = accepted.with_columns(id60=dedup.identity_prefix(pl.col("event_id")))
    both = pl.concat([RAW_EVENTS.conform(part) for part in (accepted, rejected)])
    return both.sort(dedup.POSITION)


_ALWAYS_KEPT = frozenset(
    {"source_file", "source_line", "file_day", "format", "reason", "detail", "raw"}
)


class _PartWriter:
    """One landing file's raw rows, Parquet-encoded as their windows are gated.

    The encoding stays in memory up to SPOOL_BYTES (most parts are a few kB: creating a file
    for each cost more than encoding it) and beyond that goes to an unnamed temporary file
    beside the part (invisible to the warehouse, gone when closed; in the system's temporary
    folder when the warehouse is on object storage), so a worker's memory does not grow with
    the file; the part reaches the warehouse in one atomic copy once the whole file has been
    read and gated.
    """

    def __init__(self, file: LandingFile, directory: StoragePath):
        self.file = file
        self.source_file = pl.Series("source_file", [file.rel_path], dtype=pl.String)
        self.file_day = pl.Series("file_day", [file.file_day], dtype=pl.Date)
        scratch = None
        if not is_remote(directory):
            directory.mkdir(parents=True, exist_ok=True)
            scratch = str(directory)
        # Closed by `_write_part` once copied into place (it outlives this constructor).
        self.sink = tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=scratch)  # noqa: SIM115
        self.writer = pq.ParquetWriter(self.sink, _RAW_ARROW_SCHEMA, **_ARROW_OPTIONS)
        self.records_read = 0
        self.rows = 0
        self.reasons: Counter[str] = Counter()
        self.read_error: str | None = None

    def add(self, rows: pa.Table, reasons: dict[str, int]) -> None:
        """The file's next rows, already in the part's Arrow schema, and their reason counts."""
        self.rows += rows.num_rows
        self.reasons.update(reasons)
        self.writer.write_table(rows, RAW_ROW_GROUP)

    def finish(self, metadata: dict[str, str]) -> IO[bytes]:
        """The finished Parquet file, positioned at its start."""
        if self.rows != self.records_read:
            raise AssertionError(
                f"{self.file.rel_path}: {self.records_read} records read, {self.rows} rows"
            )
        self.writer.add_key_value_metadata(metadata)
        self.writer.close()
        self.sink.seek(0)
        return self.sink


_RAW_ARROW_SCHEMA = RAW_EVENTS.empty().to_arrow().schema
# The warehouse's write options in pyarrow's terms, minus dictionary pages: on a benchmark file
# (ids, payloads and timestamps rarely repeat) a part came out the same size after zstd and was
# written about 30 % faster without them.
_ARROW_OPTIONS = {
    "compression": warehouse.PARQUET_OPTIONS["compression"],
    "compression_level": warehouse.PARQUET_OPTIONS["compression_level"],
    "write_statistics": warehouse.PARQUET_OPTIONS["statistics"],
    "use_dictionary": False,
}


def file_spans(rows: pl.DataFrame) -> dict[str, tuple[int, int, dict[str, int]]]:
    """(first row, row count, quarantined by reason) of each source file in gated `rows`,
    whose rows of one file are contiguous."""
    spans = (
        rows.with_row_index("_row")
        .group_by("source_file", maintain_order=True)
        .agg(
            start=pl.col("_row").first(),
            length=pl.len(),
            last=pl.col("_row").last(),
            reasons=pl.col("reason").drop_nulls(),
        )
    )
    found: dict[str, tuple[int, int, dict[str, int]]] = {}
    for source, start, length, last, reasons in spans.iter_rows():
        if last - start + 1 != length:
            raise AssertionError(f"{source}: its gated rows are not contiguous")
        found[source] = (start, length, dict(Counter(reasons)))
    return found


def _decoded(fmt: FileFormat, batch: list[tuple[_PartWriter, Block]]) -> list[pl.DataFrame]:
    """Candidate rows of each block of a batch; a reader bug is reported with its file."""
    try:
        return decode_blocks(fmt, [block for _, block in batch])
    except RecordError as error:
        if len(batch) == 1:
            raise RuntimeError(f"reader bug on {batch[0][0].file.rel_path} {error}") from error
    return [frame for one in batch for frame in _decoded(fmt, [one])]


def write_parts(root: StoragePath, files: list[LandingFile]) -> list[StagedFile]:
    """Parse a batch of landing files block by block and replace each one's part.

    Blocks of one format are decoded together up to about BLOCK_BYTES (a small file's fixed
    decoding cost is then shared with its neighbours). Records are gated in windows of about
    GATE_ROWS (pandera's fixed cost is paid once per window, and several small files share
    one), so memory depends on the block size and the window, not on how big a file or the
    day is. A file's part is written once its last window is gated.
    """
    window: list[pl.DataFrame] = []
    window_rows = 0
    parts: list[_PartWriter] = []  # parts with rows in the window; all but the last read fully
    staged: list[StagedFile] = []
    batch: list[tuple[_PartWriter, Block]] = []  # blocks read, not decoded yet
    batch_bytes = 0

    def decode_batch() -> None:
        nonlocal window_rows, batch_bytes
        if not batch:
            return
        for (part, _), candidates in zip(batch, _decoded(batch[0][0].file.fmt, batch), strict=True):
            part.records_read += candidates.height
            # Constant columns built directly: a query per block costs more than a small block.
            rows = candidates.height
            window.append(
                candidates.hstack(
                    [
                        part.source_file.new_from_index(0, rows),
                        part.file_day.new_from_index(0, rows),
                    ]
                )
            )
            window_rows += rows
        batch.clear()
        batch_bytes = 0

    def gate_window(last_is_complete: bool) -> None:
        nonlocal window_rows
        if window:
            rows = raw_rows(apply_gate(pl.concat(window)))
            window.clear()
            window_rows = 0
            # One Arrow conversion per window; each file's rows are a contiguous slice of it
            # (raw_rows sorts by source_file, source_line), so a part costs no query of its own.
            table = rows.to_arrow().cast(_RAW_ARROW_SCHEMA)
            spans = file_spans(rows)
            for part in parts:
                if part.file.rel_path in spans:
                    start, length, reasons = spans[part.file.rel_path]
                    part.add(table.slice(start, length), reasons)
        complete = parts if last_is_complete else parts[:-1]
        staged.extend(_write_part(root, part) for part in complete)
        del parts[: len(complete)]

    for file in files:
        part = _PartWriter(file, part_path(root, file).parent)
        parts.append(part)
        reader = LineBlocks(file.path, file.gzipped, file.fmt.has_header)
        for block in reader:
            if batch and (
                batch[0][0].file.fmt != file.fmt or batch_bytes + len(block.data) > BLOCK_BYTES
            ):
                decode_batch()
                if window_rows >= GATE_ROWS:
                    gate_window(last_is_complete=False)
            batch.append((part, block))
            batch_bytes += len(block.data)
        part.read_error = reader.read_error
    decode_batch()
    gate_window(last_is_complete=True)
    return staged


def _write_part(root: StoragePath, part: _PartWriter) -> StagedFile:
    file = part.file
    quarantined = dict(sorted(part.reasons.items()))
    metadata = {
        **_version_token(file),
        "records_read": str(part.records_read),
        "quarantined_by_reason": json.dumps(quarantined, sort_keys=True),
        "read_error": part.read_error or "",
    }
    newer: list[StagedFile] = []

    def superseded() -> bool:
        """A concurrent run already staged a later version of this file: never go back."""
        newer.extend(filter(None, [later_part(root, file)]))
        return bool(newer)

    with part.finish(metadata) as parquet:
        if not warehouse.write_stream_atomic(part_path(root, file), parquet, superseded):
            return newer[0]
    return StagedFile(
        file.rel_path, file.file_day, part.records_read, quarantined, part.read_error, False
    )


def remove_stale_parts(root: StoragePath, day: dt.date, files: list[LandingFile]) -> list[str]:
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
    root: StoragePath, files: list[LandingFile], workers: int | None = None
) -> list[StagedFile]:
    """Stage files whose part is missing or outdated, in batches; big jobs use worker processes.

    Batches bound memory (a batch holds about BATCH_BYTES of landing data at once) and share
    the gate's fixed cost among small files.
    """
    staged = {f.rel_path: current_part(root, f) for f in files}
    pending = [f for f in files if staged[f.rel_path] is None]
    workers = workers or os.cpu_count() or 1
    parallel = workers > 1 and sum(f.fingerprint.size for f in pending) >= PARALLEL_MIN_BYTES
    jobs = batches(pending, workers if parallel else 1)
    if parallel and len(jobs) > 1:
        context = get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            results = pool.map(write_parts, [root] * len(jobs), jobs)
            parsed = [item for batch in results for item in batch]
    else:
        parsed = [item for job in jobs for item in write_parts(root, job)]
    found = {**staged, **{result.source_file: result for result in parsed}}
    return [part for f in files if (part := found[f.rel_path]) is not None]
