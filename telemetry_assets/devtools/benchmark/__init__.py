"""`make bench`: this pipeline against a hand-written DuckDB job on the same day of files."""
