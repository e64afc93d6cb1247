"""Developer tools outside the code location's imports: benchmarks and process helpers."""
