"""Telemetry pipeline: landing files -> validated day-partitioned Parquet warehouse."""

import os

# The anomaly detector's matrix products are small (256 queries x 256 candidates x a pattern
# of <= 24 points): OpenBLAS threads only add overhead there, and on a busy machine their
# spinning doubled the cost (0.88 s against 1.64 s a day, same scores). OpenBLAS reads this
# when numpy loads, so it is set here, before any module imports numpy; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
