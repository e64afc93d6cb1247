"""A bounded, thread-safe record buffer that never blocks the application.

Telemetry must not slow down or stall the code it observes: when the exporter falls behind
and the buffer is full, the newest record is dropped and counted instead of waiting for room.
"""

from __future__ import annotations

import threading
from collections import deque

from .records import Record


class RecordBuffer:
    """FIFO of records with a hard capacity, a drop counter and a high-water signal."""

    def __init__(self, capacity: int, high_water: int) -> None:
        self._capacity = capacity
        self._high_water = high_water
        self._records: deque[Record] = deque()
        self._lock = threading.Lock()
        self._dropped = 0
        # Set when the buffer reaches its high-water mark, so the flush thread wakes early.
        self.high_water_reached = threading.Event()

    def offer(self, record: Record) -> bool:
        """Append the record, or count it as dropped when the buffer is full; never waits."""
        with self._lock:
            if len(self._records) >= self._capacity:
                self._dropped += 1
                return False
            self._records.append(record)
            reached = len(self._records) >= self._high_water
        if reached:
            self.high_water_reached.set()
        return True

    def count_dropped(self) -> None:
        """Count a record that was refused before reaching the buffer (the client is closed)."""
        with self._lock:
            self._dropped += 1

    def drain(self) -> list[Record]:
        """Take every buffered record, oldest first."""
        with self._lock:
            records = list(self._records)
            self._records.clear()
            # Cleared under the lock: an offer after this drain sets it again.
            self.high_water_reached.clear()
        return records

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
