"""Reports layer: per-day report pages and the dashboard."""
