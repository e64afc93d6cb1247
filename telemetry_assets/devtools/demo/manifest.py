"""The known answer: per-day counts booked from the planned lines, never from the written files.

Booking from what was deliberately written keeps the answer independent of the project's reader
and gate. It assumes the default `TELEMETRY_LATE_DAYS=2`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from .model import File, Quarantined, Valid


@dataclass
class DayExpectation:
    """What the pipeline must report for one day (`ingest_stats` plus quarantine by reason)."""

    records_read: int = 0
    valid: int = 0
    duplicates_removed: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoManifest:
    """The files written (relative to the landing folder) and the known answer per day."""

    files: list[str]
    expected: dict[dt.date, DayExpectation]

    def total(self) -> DayExpectation:
        """All days together: the numbers a one-line summary or a whole-range check needs."""
        total = DayExpectation()
        for day in self.expected.values():
            total.records_read += day.records_read
            total.valid += day.valid
            total.duplicates_removed += day.duplicates_removed
            total.quarantined += day.quarantined
            for reason, count in day.quarantined_by_reason.items():
                by_reason = total.quarantined_by_reason
                by_reason[reason] = by_reason.get(reason, 0) + count
        return total

    def to_json(self) -> str:
        """Dates as ISO keys, so a test or CI step can compare it with `ingest_stats`."""
        expected = {day.isoformat(): asdict(counts) for day, counts in self.expected.items()}
        return json.dumps({"files": self.files, "expected": expected}, indent=2, sort_keys=True)


def _book_valid(day: DayExpectation, duplicate: bool) -> None:
    day.records_read += 1
    if duplicate:
        day.duplicates_removed += 1
    else:
        day.valid += 1


def _book_quarantined(day: DayExpectation, reason: str) -> None:
    day.records_read += 1
    day.quarantined += 1
    day.quarantined_by_reason[reason] = day.quarantined_by_reason.get(reason, 0) + 1


def expectations(files: list[File]) -> dict[dt.date, DayExpectation]:
    """Book every record on its day, as the contract attributes it.

    Valid records and duplicates count on their event day, quarantined ones on their file day.
    Fails loudly if two records meant to differ share an identity (a generator bug).
    """
    expected: dict[dt.date, DayExpectation] = defaultdict(DayExpectation)
    seen: set[str] = set()
    intended = 0
    for file in files:
        for outcome in (line.outcome for line in file.lines):
            if isinstance(outcome, Quarantined):
                _book_quarantined(expected[file.file_day], outcome.reason)
            elif isinstance(outcome, Valid):
                intended += outcome.duplicate
                _book_valid(expected[outcome.event_day], outcome.identity in seen)
                seen.add(outcome.identity)
    counted = sum(day.duplicates_removed for day in expected.values())
    if counted != intended:
        raise RuntimeError(f"demo generator wrote {counted - intended} unintended duplicates")
    for day in expected.values():
        day.quarantined_by_reason = dict(sorted(day.quarantined_by_reason.items()))
    return dict(sorted(expected.items()))
