"""Write landing files (DESIGN §4) directly, for producers that share a folder with the pipeline.

A file is written as `.<kind>-YYYY-MM-DDTHH-<writer id>-<seq>.jsonl`; the leading dot keeps the
pipeline away while it grows. Every batch is fsync'd. The file is renamed to its landing name
(dot removed) when it is rolled: at the next hour, at `max_bytes`, after `max_age_s`, and on
close. The hour in the name is the UTC hour in which its lines were written. The writer id
(host, pid, random) keeps concurrent writers apart, and the sequence keeps one writer's files
apart. A failed write is cut back to the last whole line, so no half-written record ever lands.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .records import RecordKind

log = logging.getLogger(__name__)


def default_writer_id() -> str:
    """Host, process and a random part, reduced to characters safe in any file name."""
    host = re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{os.urandom(3).hex()}"


@dataclass
class _OpenFile:
    fd: int
    hidden: Path
    final: Path
    hour: str
    opened_at: float
    size: int = 0


class LandingFileExporter:
    """One open hidden file per record kind, rolled into its landing name."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 64 << 20,
        max_age_s: float = 60.0,
        writer_id: str | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._max_age_s = max_age_s
        self._writer_id = writer_id or default_writer_id()
        self._now = now
        self._files: dict[RecordKind, _OpenFile] = {}
        self._seq = 0

    def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
        hour = self._now().strftime("%Y-%m-%dT%H")
        current = self._files.get(kind)
        if current is not None and current.hour != hour:
            self._roll(kind)
        data = b"".join(line + b"\n" for line in lines)
        try:
            current = self._files.get(kind) or self._open(kind, hour)
        except OSError as exc:
            log.warning("telemetry: cannot open a landing file in %s: %s", self._dir, exc)
            return 0
        try:
            _write_all(current.fd, data)
            os.fsync(current.fd)
        except OSError as exc:
            log.warning(
                "telemetry: %d records not written to %s: %s", len(lines), current.hidden, exc
            )
            self._cut_back(kind, current)
            return 0
        current.size += len(data)
        if current.size >= self._max_bytes:
            self._roll(kind)
        return len(lines)

    def tick(self) -> None:
        """Roll files that are old enough or belong to an hour that has passed."""
        hour = self._now().strftime("%Y-%m-%dT%H")
        for kind, current in list(self._files.items()):
            if current.hour != hour or time.monotonic() - current.opened_at >= self._max_age_s:
                self._roll(kind)

    def close(self) -> None:
        for kind in list(self._files):
            self._roll(kind)

    def _open(self, kind: RecordKind, hour: str) -> _OpenFile:
        self._seq += 1
        name = f"{kind}-{hour}-{self._writer_id}-{self._seq:04d}.jsonl"
        hidden = self._dir / f".{name}"
        # O_EXCL: a name that exists belongs to someone else and is never appended to or replaced.
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        opened = _OpenFile(fd, hidden, self._dir / name, hour, time.monotonic())
        self._files[kind] = opened
        return opened

    def _roll(self, kind: RecordKind) -> None:
        """Close the file and give it its landing name; the directory is fsync'd for the rename."""
        current = self._files.pop(kind)
        try:
            os.close(current.fd)
            if current.size == 0:
                current.hidden.unlink(missing_ok=True)
                return
            os.rename(current.hidden, current.final)
            _fsync_dir(self._dir)
        except OSError as exc:
            # Its records are on disk already; a failed rename must not fail the next batch.
            log.warning("telemetry: could not roll %s: %s", current.hidden, exc)

    def _cut_back(self, kind: RecordKind, current: _OpenFile) -> None:
        """Drop a partly written batch; if that fails too, leave the file under its hidden name."""
        try:
            os.ftruncate(current.fd, current.size)
            os.lseek(current.fd, current.size, os.SEEK_SET)
        except OSError:
            self._files.pop(kind)
            os.close(current.fd)
            log.warning("telemetry: %s left behind under its hidden name", current.hidden)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (signals, full disks); loop until all is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
