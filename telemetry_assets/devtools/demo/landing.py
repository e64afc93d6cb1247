"""Realistic demo landing files together with the counts the pipeline must produce from them.

`make demo` and the end-to-end tests need a landing folder that exercises every rule of the
landing contract (DESIGN.md section 4): four formats, gzip, subfolders, ignored names, late and
early records, redelivered files, re-serialised duplicates, every reason code, blank lines, CRLF,
a BOM and an empty file. The expected counts (`DemoManifest.expected`) are booked from what was
deliberately written, never by reading the files back, so they are an answer that is
independent of the project's reader and gate. They assume the default `TELEMETRY_LATE_DAYS=2`.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from .files import plan
from .manifest import DemoManifest, expectations


def _existing_files(landing: Path) -> set[str]:
    if not landing.is_dir():
        return set()
    return {path.relative_to(landing).as_posix() for path in landing.rglob("*") if path.is_file()}


def generate_landing(
    landing: Path,
    start: dt.date,
    days: int,
    seed: int = 7,
    events_per_hour: int = 200,
) -> DemoManifest:
    """Write `days` days of landing files from `start` into `landing` and return the known answer.

    Deterministic for a seed. Every reason code occurs every day (about 16 quarantined records
    a day: 0.24 % at the default rate, above 1 % only below about 10 events per hour, because
    the metric files alone hold about 1,440 samples a day). Refuses a folder holding files this
    run would not write: they would be read too and make the expected counts wrong (re-running
    the same call is fine).
    """
    if days < 1 or events_per_hour < 1:
        raise ValueError("days and events_per_hour must be at least 1")
    files = plan(start, days, random.Random(seed), events_per_hour)
    names = {file.rel_path for file in files}
    stale = sorted(_existing_files(landing) - names)
    if stale:
        shown = ", ".join(stale[:3]) + (", ..." if len(stale) > 3 else "")
        raise FileExistsError(
            f"{landing} already holds {len(stale)} other file(s) ({shown}); they would change "
            "the expected counts, so write the demo data into an empty folder"
        )
    for file in files:
        path = landing / file.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data())
    return DemoManifest(files=sorted(names), expected=expectations(files))
