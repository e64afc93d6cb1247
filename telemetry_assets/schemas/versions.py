"""The schema versions the gate knows: each has a pandera model (`schemas.models`) and a mapping."""

V1 = "telemetry_event_v1"
