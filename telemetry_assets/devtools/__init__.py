"""Tooling around the pipeline (demo data, benchmarks, summaries).

Nothing in the code location imports this package: it may import the pipeline, never the
other way round (a test keeps it so).
"""
