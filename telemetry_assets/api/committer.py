"""Group commit: one thread gates, writes and fsyncs what concurrent requests submitted.

Requests queue their records; the committer takes everything queued, gates it in one call,
appends it to the landing files, fsyncs each touched file once and only then resolves the
requests' futures. A request is therefore acknowledged only when its bytes are durable, and
concurrent requests share one gate call and one fsync: the more load, the bigger the group.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import polars as pl

from telemetry_assets.api.exposition import ServiceMetrics
from telemetry_assets.api.landing import LandingFiles, OpenFile
from telemetry_assets.api.pipeline import Kind, Verdicts, judge

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.25  # how often an idle committer checks whether files are due to roll
GROUP_RECORDS = 200_000  # records gated at once at most: bounds the committer's memory
LINGER_SECONDS = 0.005  # how long a busy committer waits for more requests to join a group


@dataclass
class Receipt:
    """What a request gets back once its records are durable."""

    verdicts: Verdicts
    file: str


@dataclass
class _Submission:
    kind: Kind
    data: bytes  # the records' landing lines, each ending in a newline
    count: int
    future: Future[Receipt] = field(default_factory=Future)


class Committer:
    """Owns the landing files; `on_commit` gets the valid records of each durable group (rows
    shaped like `events`) before its requests are answered."""

    def __init__(
        self,
        files: LandingFiles,
        metrics: ServiceMetrics,
        on_commit: Callable[[list[pl.DataFrame]], None],
    ):
        self.files, self.metrics, self.on_commit = files, metrics, on_commit
        self._queue: queue.Queue[_Submission | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="landing-committer", daemon=True)
        self._stopping = False
        self._last_group = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then roll every open file into place."""
        self._stopping = True
        self._queue.put(None)
        self._thread.join()

    def submit(self, kind: Kind, lines: list[bytes]) -> Future[Receipt]:
        if self._stopping:
            raise RuntimeError("the service is shutting down")
        data = b"".join(line + b"\n" for line in lines)
        submission = _Submission(kind, data, len(lines))
        self._queue.put(submission)
        return submission.future

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                self._roll_due()
                continue
            group, stop = self._group(first)
            if group:
                self._commit(group)
            self._roll_due()
            if stop:
                self.files.close()
                return

    def _roll_due(self) -> None:
        """A failed rename only delays a roll (the data is synced): retried on the next pass."""
        try:
            self.files.roll_due(time.monotonic())
        except OSError:
            log.exception("rolling landing files failed; will retry")

    def _group(self, first: _Submission | None) -> tuple[list[_Submission], bool]:
        """The first submission and whatever else is queued now (None marks the stop).

        Under concurrency (the last group had several requests) it lingers a moment for the
        requests its clients send as soon as their previous answer arrives: the gate's cost is
        mostly fixed per group, so one group of four costs little more than one of two.
        """
        group: list[_Submission] = []
        item = first
        records = 0
        linger_until = time.monotonic() + (LINGER_SECONDS if self._last_group > 1 else 0)
        while True:
            if item is None:
                return group, True
            group.append(item)
            records += item.count
            if records >= GROUP_RECORDS:
                break
            try:
                item = self._queue.get(timeout=max(0.0, linger_until - time.monotonic()))
            except queue.Empty:
                break
        self._last_group = len(group)
        return group, False

    def _commit(self, group: list[_Submission]) -> None:
        received = dt.datetime.now(dt.UTC)
        hour = received.replace(minute=0, second=0, microsecond=0)
        try:
            verdicts = judge([(s.kind, s.data, s.count) for s in group], received.date())
            touched: dict[Kind, OpenFile] = {}
            written = 0
            for submission in group:
                if submission.data:
                    touched[submission.kind] = self.files.append(
                        submission.kind, hour, submission.data
                    )
                    written += len(submission.data)
            started = time.perf_counter()
            self.files.sync(list(touched.values()))
            self.metrics.fsync_seconds.observe(time.perf_counter() - started)
        except Exception as error:  # storage or gate failure: no request of the group is acked
            self._retire_files()
            for submission in group:
                submission.future.set_exception(error)
            return
        self.metrics.landing_bytes.inc(written)
        for submission, verdict in zip(group, verdicts, strict=True):
            self._count(submission.kind, verdict)
        try:
            self.on_commit([v.valid for v in verdicts])
        except Exception:  # the records are durable: a failing live view must not block acks
            log.exception("live feed failed on a committed group")
        for submission, verdict in zip(group, verdicts, strict=True):
            file = touched.get(submission.kind)
            submission.future.set_result(Receipt(verdict, file.final.name if file else ""))

    def _retire_files(self) -> None:
        """After a failed write a file may end in a partial line: never append after it."""
        try:
            self.files.close()
        except OSError:
            self.files.open.clear()

    def _count(self, kind: Kind, verdicts: Verdicts) -> None:
        records = self.metrics.records
        rejected = sum(reason is not None for reason in verdicts.reasons)
        records.labels(kind.value, "valid").inc(len(verdicts.reasons) - rejected)
        records.labels(kind.value, "rejected").inc(rejected)
