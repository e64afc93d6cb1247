"""Dagster wiring, one room per layer of the asset graph (assets and their checks side by side).

The pure logic lives in modules named for what they compute; everything here is a thin shell
that reads resources, calls that logic, writes Parquet and reports metadata.
"""
