"""Head sampling: keep each record with probability `sample_rate`.

The decision is one draw from a `random.Random` per record (per trace for spans, so a trace is
kept or dropped whole). Tests pass a seeded source and get the same decisions on every run.
Counters are sampled too: multiply their sums by 1 / sample_rate.
"""

from __future__ import annotations

import random


class Sampler:
    """Keeps a record with probability `rate`; rates 0 and 1 never consume a random number."""

    def __init__(self, rate: float, rng: random.Random | None = None) -> None:
        self._rate = rate
        self._rng = rng if rng is not None else random.Random()

    def keep(self) -> bool:
        if self._rate >= 1.0:
            return True
        if self._rate <= 0.0:
            return False
        return self._rng.random() < self._rate
