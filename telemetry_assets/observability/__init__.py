"""Observability logic (log patterns, anomalies): pure functions over Polars frames, no Dagster."""
