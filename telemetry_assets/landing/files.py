"""Landing-file discovery: which names are inputs, their format and file day, and fingerprints.

The file name alone decides the format; every other file is ignored, and so is every file or
subfolder whose name starts with `.` or `_` (writers upload under such names and rename when
done). Only the landing folder and its direct subfolders are scanned, and links that lead
outside the landing folder are reported and skipped so a landing name can never pull in data
from elsewhere. On object storage (`s3://`) the keys under the prefix are listed in key order
(1,000 a request), keeping those of the same two levels, and a file version is the object's
size, last-modified time and ETag.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from upath import UPath

from telemetry_assets.object_storage import (
    StoragePath,
    StoredObject,
    is_remote,
    list_objects,
    stat_object,
)


class FileFormat(StrEnum):
    EVENTS = "events"
    PRODUCT_ANALYTICS = "product_analytics"
    METRICS = "metrics"
    LOGS = "logs"

    @property
    def has_header(self) -> bool:
        return self is FileFormat.PRODUCT_ANALYTICS


_DAY = r"(?P<day>\d{4}-\d{2}-\d{2})"
_NAME_PATTERNS: dict[FileFormat, re.Pattern[str]] = {
    FileFormat.EVENTS: re.compile(rf"events-{_DAY}T\d{{2}}.*\.jsonl(?P<gz>\.gz)?"),
    FileFormat.PRODUCT_ANALYTICS: re.compile(rf"product-analytics-{_DAY}.*\.csv(?P<gz>\.gz)?"),
    FileFormat.METRICS: re.compile(rf"metrics-{_DAY}T\d{{2}}.*\.jsonl(?P<gz>\.gz)?"),
    FileFormat.LOGS: re.compile(rf"logs-{_DAY}T\d{{2}}.*\.jsonl(?P<gz>\.gz)?"),
}
HIDDEN_PREFIXES = (".", "_")


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one version of a landing file; a change means the file is read again.

    Size and mtime alone miss a same-size rewrite whose mtime was kept (`cp -p`, `rsync -a`):
    the inode change time cannot be set back by a writer, and a replaced file has a new inode,
    so a change of content always changes the fingerprint without reading the bytes. An
    object has no inode or change time; its ETag (a digest of its content for a plain PUT)
    plays that part.
    """

    size: int
    mtime_ns: int
    ctime_ns: int
    identity: str  # the inode of a file, the ETag of an object

    @classmethod
    def of(cls, info: os.stat_result) -> Fingerprint:
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, str(info.st_ino))

    @classmethod
    def of_object(cls, stored: StoredObject) -> Fingerprint:
        mtime_ns = int(stored.last_modified.timestamp()) * 1_000_000_000
        return cls(stored.size, mtime_ns, 0, stored.etag)

    def token(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.ctime_ns}:{self.identity}"


@dataclass(frozen=True)
class LandingFile:
    rel_path: str
    path: StoragePath
    fmt: FileFormat
    file_day: dt.date
    gzipped: bool
    fingerprint: Fingerprint


@dataclass
class LandingScan:
    """The landing files of one listing, which covered the names in (after, through]:
    everything for a folder, possibly one page of keys for a bucket (through=None: to the
    end)."""

    files: list[LandingFile] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    after: str = ""
    through: str | None = None

    def covers(self, rel_path: str) -> bool:
        return rel_path > self.after and (self.through is None or rel_path <= self.through)

    def for_days(self, days: set[dt.date]) -> list[LandingFile]:
        return [f for f in self.files if f.file_day in days]


def classify(name: str) -> tuple[FileFormat, dt.date, bool] | None:
    """Format, file day and gzip flag for a landing file name, or None for names to ignore."""
    for fmt, pattern in _NAME_PATTERNS.items():
        match = pattern.fullmatch(name)
        if match:
            try:
                day = dt.date.fromisoformat(match["day"])
            except ValueError:
                return None
            return fmt, day, match["gz"] is not None
    return None


def is_hidden(name: str) -> bool:
    """A name that is not (yet) a landing file or folder: it is never read nor counted."""
    return name.startswith(HIDDEN_PREFIXES)


def _entries(root: Path) -> list[tuple[str, os.DirEntry[str]]]:
    """Visible files directly in root and in its visible direct subfolders."""
    found: list[tuple[str, os.DirEntry[str]]] = []
    with os.scandir(root) as top:
        for entry in top:
            if is_hidden(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as sub:
                    found.extend(
                        (f"{entry.name}/{child.name}", child)
                        for child in sub
                        if not is_hidden(child.name)
                    )
            else:
                found.append((entry.name, entry))
    return found


def _classified(scan: LandingScan, rel_path: str) -> tuple[FileFormat, dt.date, bool] | None:
    """The name's kind; a name that looks like an input but cannot be one is reported."""
    name = rel_path.rsplit("/", 1)[-1]
    kind = classify(name)
    if kind is None and any(p.fullmatch(name) for p in _NAME_PATTERNS.values()):
        scan.skipped[rel_path] = "file name carries a date that does not exist"
    return kind


def fingerprint(path: StoragePath) -> Fingerprint | None:
    """The current version of one landing file; None when it is gone."""
    if is_remote(path):
        stored = stat_object(path)
        return None if stored is None else Fingerprint.of_object(stored)
    try:
        return Fingerprint.of(os.stat(path))
    except FileNotFoundError:
        return None


def scan_landing(root: StoragePath) -> LandingScan:
    """Every input file under root; names that look like inputs but cannot be used are reported."""
    return _scan_objects(root) if is_remote(root) else _scan_folder(root)


def is_landing_key(rel_key: str) -> bool:
    """An object the landing reads: directly under the prefix or one "folder" down, with no
    hidden part in its key."""
    parts = rel_key.split("/")
    return len(parts) <= 2 and not any(is_hidden(part) for part in parts)


def scan_landing_page(root: StoragePath, after: str, limit: int) -> LandingScan:
    """The landing files named after `after`, listing at most `limit` objects of a bucket
    (a folder is listed whole: one directory read is cheap)."""
    return _scan_objects(root, after, limit) if is_remote(root) else _scan_folder(root)


def _scan_objects(root: UPath, after: str = "", limit: int | None = None) -> LandingScan:
    scan = LandingScan(after=after)
    last = after
    for listed, stored in enumerate(list_objects(root, after)):
        if limit is not None and listed == limit:
            scan.through = last
            break
        last = stored.rel_key
        if not is_landing_key(stored.rel_key):
            continue
        kind = _classified(scan, stored.rel_key)
        if kind is None:
            continue
        fmt, day, gzipped = kind
        scan.files.append(
            LandingFile(
                rel_path=stored.rel_key,
                path=root / stored.rel_key,
                fmt=fmt,
                file_day=day,
                gzipped=gzipped,
                fingerprint=Fingerprint.of_object(stored),
            )
        )
    return scan


def _scan_folder(root: Path) -> LandingScan:
    scan = LandingScan()
    real_root = root.resolve()
    for rel_path, entry in sorted(_entries(root), key=lambda item: item[0]):
        kind = _classified(scan, rel_path)
        if kind is None:
            continue
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            if not target.is_relative_to(real_root):
                scan.skipped[rel_path] = "symbolic link to a file outside the landing folder"
                continue
        try:
            info = os.stat(entry.path)
        except OSError as error:
            scan.skipped[rel_path] = f"cannot stat: {error.strerror}"
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        fmt, day, gzipped = kind
        scan.files.append(
            LandingFile(
                rel_path=rel_path,
                path=Path(entry.path),
                fmt=fmt,
                file_day=day,
                gzipped=gzipped,
                fingerprint=Fingerprint.of(info),
            )
        )
    return scan
