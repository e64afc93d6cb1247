"""Dagster wiring: resources, executors, sensors, schedules (see DESIGN.md §2)."""
