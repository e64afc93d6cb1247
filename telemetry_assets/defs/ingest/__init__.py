"""Ingest layer: raw_events (file day) -> events (event day), quarantine, ingest_stats."""
