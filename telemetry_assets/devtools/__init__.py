"""Developer tools kept out of the Dagster code location's imports (benchmarks, scorers)."""
