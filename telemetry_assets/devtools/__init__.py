"""Developer tools (benchmarks, data generators): never imported by the code location."""
