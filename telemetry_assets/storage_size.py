"""How much room the data takes: landing bytes (plain and gzip files) against warehouse Parquet.

Sizes come from `stat`, never from reading files, so they are cheap enough for every report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telemetry_assets import warehouse
from telemetry_assets.landing.files import LandingFile
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.schemas.tables import TABLES


@dataclass(frozen=True)
class LandingBytes:
    plain: int
    gzip: int

    @property
    def total(self) -> int:
        return self.plain + self.gzip


def landing_bytes(files: list[LandingFile]) -> LandingBytes:
    plain = sum(f.fingerprint.size for f in files if not f.gzipped)
    gzip = sum(f.fingerprint.size for f in files if f.gzipped)
    return LandingBytes(plain, gzip)


def warehouse_bytes(root: StoragePath, days: list[dt.date] | None = None) -> dict[str, int]:
    """Parquet bytes per table of the registry (of the given days, or of every day)."""
    sizes = {}
    for name, table in TABLES.items():
        chosen = warehouse.written_days(root, table) if days is None else days
        sizes[name] = sum(p.stat().st_size for p in warehouse.scan_partitions(root, name, chosen))
    return sizes


def mebibytes(size: int) -> str:
    return f"{size / 2**20:,.2f} MiB"


def size_lines(landing: LandingBytes, tables: dict[str, int]) -> list[str]:
    """The comparison as text lines: landing against every table and the warehouse in all."""
    stored = sum(tables.values())
    lines = [
        f"landing bytes        {mebibytes(landing.total):>14}  "
        f"(plain {mebibytes(landing.plain)}, gzip {mebibytes(landing.gzip)})",
        f"warehouse Parquet    {mebibytes(stored):>14}"
        + (f"  ({stored / landing.total:.0%} of landing)" if landing.total else ""),
    ]
    lines += [f"  {name:<19}{mebibytes(size):>14}" for name, size in tables.items() if size]
    return lines
