"""The service's landing files: hidden while open, fsync'd before an ack, renamed when rolled.

A file is written as `.<name>` (the pipeline ignores `.`-names) and renamed to `<name>` when it
is rolled, so the pipeline never reads a file that is still growing. Each open file holds an
exclusive `flock`; the kernel drops it when the process dies, which is how start-up recovery
tells a file left open by a crash from one another live service is still writing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from telemetry_assets.api.pipeline import Kind, landing_name

WRITER_TAG = "-api-"
_HIDDEN = re.compile(rf"\.(?:{'|'.join(k.value for k in Kind)})-.*{WRITER_TAG}.*\.jsonl")


def _fsync_dir(directory: Path) -> None:
    """Make a create or rename durable: it lives in the directory, not in the file."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class OpenFile:
    kind: Kind
    hour: dt.datetime
    final: Path
    fd: int
    opened: float
    size: int = 0

    @property
    def hidden(self) -> Path:
        return self.final.with_name("." + self.final.name)


class LandingFiles:
    """One open landing file per kind; every method runs on the committer's thread."""

    def __init__(self, root: Path, roll_seconds: float, roll_bytes: int):
        self.root, self.roll_seconds, self.roll_bytes = root, roll_seconds, roll_bytes
        self.writer = uuid.uuid4().hex[:12]
        self.sequence = 0
        self.open: dict[Kind, OpenFile] = {}

    def append(self, kind: Kind, hour: dt.datetime, data: bytes) -> OpenFile:
        """Write data to the kind's file of that hour (not yet durable: see `sync`)."""
        current = self.open.get(kind)
        if current is not None and current.hour != hour:
            self.roll(current)
            current = None
        if current is None:
            current = self.open[kind] = self._create(kind, hour)
        view = memoryview(data)
        while view:
            view = view[os.write(current.fd, view) :]
        current.size += len(data)
        return current

    @staticmethod
    def sync(files: list[OpenFile]) -> None:
        for file in files:
            os.fdatasync(file.fd)

    def roll_due(self, now: float) -> list[Path]:
        """Roll every file that is old or big enough; returns the paths now in place."""
        due = [
            f
            for f in self.open.values()
            if f.size >= self.roll_bytes or now - f.opened >= self.roll_seconds
        ]
        return [self.roll(f) for f in due]

    def roll(self, file: OpenFile) -> Path:
        """Rename a (fully synced) file into place; until the rename succeeds it stays open.
        Renaming before closing keeps the lock held, so recovery never races a roll."""
        if file.size == 0:
            file.hidden.unlink()
        else:
            os.rename(file.hidden, file.final)
        del self.open[file.kind]
        _fsync_dir(self.root)
        os.close(file.fd)
        return file.final

    def close(self) -> None:
        for file in list(self.open.values()):
            self.roll(file)

    def _create(self, kind: Kind, hour: dt.datetime) -> OpenFile:
        self.sequence += 1
        name = landing_name(kind, hour, f"{WRITER_TAG}{self.writer}-{self.sequence:06d}")
        final = self.root / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(final.with_name("." + name), flags, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _fsync_dir(self.root)
        return OpenFile(kind, hour, final, fd, time.monotonic())


def recover(root: Path) -> list[Path]:
    """Rename into place the hidden files a killed service left open; returns their new paths.

    A torn last line stays as it is: the pipeline quarantines it as `truncated_line`. Files
    still locked belong to a live service on the same folder and are left alone.
    """
    recovered = []
    for hidden in sorted(root.iterdir()):
        if not _HIDDEN.fullmatch(hidden.name):
            continue
        fd = os.open(hidden, os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            final = hidden.with_name(hidden.name[1:])
            if os.fstat(fd).st_size == 0:
                hidden.unlink()
            else:
                os.rename(hidden, final)
                recovered.append(final)
        finally:
            os.close(fd)
    if recovered:
        _fsync_dir(root)
    return recovered
