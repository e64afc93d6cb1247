"""Metrics layer: daily tables over valid, deduplicated events (DESIGN §6)."""
