"""The validation gate: reason codes, per-schema_version pandera models, and table schemas."""
