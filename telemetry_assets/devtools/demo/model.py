"""The in-memory plan of the landing folder, and where its one-of-a-kind cases go.

A planned line carries the outcome it was written for, so a file's bytes and its known answer
come from the same objects: the expected counts are booked from what was deliberately written,
never by reading the files back.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

# Where the one-of-a-kind features go: the hour of the day's files, and the day (index modulo
# the number of days) that carries a feature only once.
TRUNCATED_HOUR = 17
TRAILING_BLANK_HOUR = 21
BLANK_LINES = {3: (b"", b" \t "), 10: (b"\t",)}
REDELIVERED_HOUR = 9
UNTERMINATED_METRICS_HOUR = 5
_ONE_OFF_DAY = {
    "bom": 0,
    "leading_blank_csv": 0,
    "in_flight_tmp": 0,
    "unterminated_metrics": 0,
    "old_export": 1,
    "zero_byte": 1,
    "crlf": 2,
    "redelivery": 2,
    "gzip_csv": 3,
}
BOM_HOUR = 1
CRLF_HOUR = 3

_BOM = b"\xef\xbb\xbf"

T = TypeVar("T")


@dataclass(frozen=True)
class Valid:
    """A record that passes the gate; `duplicate` marks a deliberate copy of an earlier one."""

    event_day: dt.date
    identity: str
    duplicate: bool = False


@dataclass(frozen=True)
class Quarantined:
    reason: str


@dataclass(frozen=True)
class Line:
    """One physical line; no outcome means it is not a record (blank, CSV header, ignored file)."""

    text: bytes
    outcome: Valid | Quarantined | None = None


BLANK = Line(b"")


@dataclass
class File:
    """A file planned in memory: its bytes and its known answer come from the same lines."""

    rel_path: str
    file_day: dt.date
    lines: list[Line]
    newline: bytes = b"\n"
    bom: bool = False
    terminated: bool = True

    def data(self) -> bytes:
        body = self.newline.join(line.text for line in self.lines)
        if self.lines and self.terminated:
            body += self.newline
        content = (_BOM if self.bom else b"") + body
        # mtime=0 keeps gzip bytes identical for a given seed.
        return gzip.compress(content, mtime=0) if self.rel_path.endswith(".gz") else content


@dataclass
class Day:
    """Everything the builders of one file day share."""

    rng: random.Random
    day: dt.date
    index: int
    days: int
    users: list[int]
    seq: Iterator[int]

    def has(self, one_off: str) -> bool:
        """Whether this day carries a feature that the landing folder holds only once."""
        return self.index == _ONE_OFF_DAY[one_off] % self.days

    def in_range(self, day: dt.date) -> bool:
        """Late and early records stay inside the generated days, so `expected` covers them."""
        return 0 <= self.index + (day - self.day).days < self.days

    def variant(self, options: Sequence[T]) -> T:
        """Rotate through the variants of a case day by day."""
        return options[self.index % len(options)]
