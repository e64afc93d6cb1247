"""Observability models over the warehouse's series: pure functions, usable outside Dagster."""
