"""Telemetry pipeline: landing files -> validated day-partitioned Parquet warehouse."""
