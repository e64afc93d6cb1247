"""Observability layer: anomalies in service metrics and mined log patterns."""
