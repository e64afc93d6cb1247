"""Format D (`logs-YYYY-MM-DDTHH*.jsonl`): service log records, every reason code, the level
normalisation, the payload mapping and one end-to-end run."""

import datetime as dt
import json

import polars as pl
import pytest

from telemetry_assets.landing.decoders import decode
from telemetry_assets.landing.files import FileFormat, classify
from telemetry_assets.landing.lines import split_lines
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.reasons import Reason
from telemetry_assets.schemas.tables import EVENTS, QUARANTINE
from telemetry_assets_tests.factories import jsonl, write_file

FILE_DAY = dt.date(2025, 3, 1)


def log_record(**overrides):
    record = {
        "ts": "2025-03-01T10:00:00Z",
        "service": "api",
        "level": "info",
        "message": "started",
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not _DROP}


_DROP = object()


def gate(*records) -> pl.DataFrame:
    candidates = decode(FileFormat.LOGS, split_lines(jsonl(*records)))
    return apply_gate(candidates.with_columns(file_day=pl.lit(FILE_DAY)), 2)


def one(record) -> dict:
    frame = gate(record)
    assert frame.height == 1
    return frame.row(0, named=True)


def test_file_name_is_format_d():
    assert classify("logs-2025-03-01T10.jsonl") == (FileFormat.LOGS, FILE_DAY, False)
    assert classify("logs-2025-03-01T10-a.jsonl.gz") == (FileFormat.LOGS, FILE_DAY, True)


@pytest.mark.parametrize(
    ("field", "label"),
    [("ts", "ts"), ("service", "service"), ("level", "level"), ("message", "message")],
)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_field(field, label, how):
    row = one(log_record(**{field: _DROP if how == "absent" else None}))
    assert row["reason"] == Reason.MISSING_FIELD
    assert row["detail"] == f"missing or null: {label}"


@pytest.mark.parametrize(
    ("field", "value", "label", "kind"),
    [
        ("ts", 1740823200, "ts", "number"),
        ("service", 7, "service", "number"),
        ("service", ["api"], "service", "array"),
        ("level", 3, "level", "number"),
        ("level", True, "level", "boolean"),
        ("message", {"text": "x"}, "message", "object"),
        ("context", "not an object", "context", "string"),
        ("context", [1, 2], "context", "array"),
    ],
)
def test_wrong_type(field, value, label, kind):
    row = one(log_record(**{field: value}))
    assert row["reason"] == Reason.WRONG_TYPE
    assert row["detail"].startswith(f"{label} is {kind}, expected ")


@pytest.mark.parametrize("level", ["", "  ", " \t "])
def test_empty_level_is_empty_event(level):
    row = one(log_record(level=level))
    assert row["reason"] == Reason.EMPTY_EVENT
    assert row["detail"] == "level is empty or whitespace only"


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("2025-02-30T10:00:00Z", Reason.INVALID_TIMESTAMP),
        ("yesterday", Reason.INVALID_TIMESTAMP),
        ("2025-03-03T00:00:00Z", Reason.FUTURE_TIMESTAMP),
        ("2025-02-26T23:59:59Z", Reason.TOO_LATE),
    ],
)
def test_timestamp_reasons(ts, reason):
    assert one(log_record(ts=ts))["reason"] == reason


def test_too_late_detail_names_file_day():
    row = one(log_record(ts="2025-02-26T10:00:00Z"))
    assert "file day 2025-03-01" in row["detail"]


@pytest.mark.parametrize(
    ("level", "event"),
    [
        ("warn", "WARNING"),
        ("WARN", "WARNING"),
        ("Warning", "WARNING"),
        ("Fatal", "CRITICAL"),
        ("fatal", "CRITICAL"),
        ("info", "INFO"),
        ("error", "ERROR"),
        ("custom", "CUSTOM"),
        ("debug", "DEBUG"),
    ],
)
def test_level_normalisation(level, event):
    row = one(log_record(level=level))
    assert row["reason"] is None
    assert row["event"] == event
    assert row["channel"] == "log"
    assert row["schema_version"] == "telemetry_event_v1"


def test_context_merged_into_payload_with_service_and_message():
    row = one(log_record(context={"request_id": "r1", "latency_ms": 12, "nested": {"a": [1]}}))
    assert row["reason"] is None
    assert json.loads(row["payload"]) == {
        "request_id": "r1",
        "latency_ms": 12,
        "nested": {"a": [1]},
        "service": "api",
        "message": "started",
    }
    assert row["service"] == "api"
    assert row["latency_ms"] == 12.0


def test_service_and_message_win_over_context_keys():
    row = one(log_record(context={"service": "other", "message": "shadow"}))
    assert json.loads(row["payload"]) == {"service": "api", "message": "started"}


def test_context_null_is_no_context():
    row = one(log_record(context=None))
    assert row["reason"] is None
    assert json.loads(row["payload"]) == {"service": "api", "message": "started"}


def test_identity_ignores_key_order_and_spacing():
    a = '{"ts":"2025-03-01T10:00:00Z","service":"api","level":"warn","message":"m"}'
    b = '{ "message": "m", "level": "WARN", "service": "api", "ts": "2025-03-01T10:00:00Z" }'
    frame = gate(a, b)
    assert frame["reason"].to_list() == [None, None]
    assert frame["event_id"].n_unique() == 1


def test_logs_file_end_to_end(pipeline):
    pipeline.max_malformed_ratio = 1.0
    write_file(
        pipeline.landing,
        "logs-2025-03-01T10.jsonl",
        jsonl(
            log_record(level="warn", message="disk", context={"host": "h1"}),
            log_record(level="Fatal", message="boom"),
            log_record(level=""),
            log_record(ts=_DROP),
            "{not json",
        ),
    )
    assert pipeline.materialize("2025-03-01").success
    events = pipeline.table(EVENTS, FILE_DAY).sort("source_line")
    assert events.select("source_line", "channel", "event", "service").rows() == [
        (1, "log", "WARNING", "api"),
        (2, "log", "CRITICAL", "api"),
    ]
    assert json.loads(events["payload"][0]) == {"host": "h1", "service": "api", "message": "disk"}
    quarantine = pipeline.table(QUARANTINE, FILE_DAY).sort("source_line")
    assert quarantine.select("source_line", "reason").rows() == [
        (3, "empty_event"),
        (4, "missing_field"),
        (5, "invalid_json"),
    ]
    assert quarantine["detail"][1] == "missing or null: ts"
