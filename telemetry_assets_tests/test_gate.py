"""Every reason code, its precedence, and the mapping of the three formats (no Dagster here)."""

import datetime as dt
import json

import polars as pl
import pytest

from telemetry_assets.landing.decoders import decode
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import split_lines
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.reasons import Reason
from telemetry_assets_tests.factories import jsonl, metric_record, v1_record

FILE_DAY = dt.date(2025, 3, 1)


def gate(fmt: FileFormat, data: bytes, late_days: int = 2) -> pl.DataFrame:
    candidates = decode(fmt, split_lines(data, fmt.has_header))
    return apply_gate(candidates.with_columns(file_day=pl.lit(FILE_DAY)), late_days)


def verdicts(fmt: FileFormat, data: bytes, late_days: int = 2) -> list[str | None]:
    return gate(fmt, data, late_days).get_column("reason").to_list()


def one(record, fmt=FileFormat.EVENTS, late_days=2) -> str | None:
    (reason,) = verdicts(fmt, jsonl(record), late_days)
    return reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{bad", Reason.INVALID_JSON),
        ("[1, 2]", Reason.INVALID_JSON),
        ('"just a string"', Reason.INVALID_JSON),
        ('{"a": NaN}', Reason.INVALID_JSON),
        ("{'a': 1}", Reason.INVALID_JSON),
        ('{"a": 1,}', Reason.INVALID_JSON),
        ('{"a": 1}{"b": 2}', Reason.INVALID_JSON),
        (b'{"event": "caf\xe9"}', Reason.INVALID_JSON),
        ('{"channel": "user"}', Reason.MISSING_FIELD),
        (v1_record(payload=None) | {"payload": None}, Reason.MISSING_FIELD),
        (v1_record(channel=42), Reason.WRONG_TYPE),
        (v1_record(payload=[1]), Reason.WRONG_TYPE),
        (v1_record(timestamp=1740823200), Reason.WRONG_TYPE),
        (v1_record(schema_version=1), Reason.WRONG_TYPE),
        (v1_record(schema_version="telemetry_event_v2"), Reason.UNKNOWN_SCHEMA_VERSION),
        (v1_record(schema_version="Telemetry_Event_V1"), Reason.UNKNOWN_SCHEMA_VERSION),
        (v1_record(event=""), Reason.EMPTY_EVENT),
        (v1_record(event=" \t "), Reason.EMPTY_EVENT),
        (v1_record(timestamp="2025-02-30T10:00:00Z"), Reason.INVALID_TIMESTAMP),
        (v1_record(timestamp="2025-03-01 10:00:00"), Reason.INVALID_TIMESTAMP),
        (v1_record(timestamp="2025-03-01T10:00:00.1234567890Z"), Reason.INVALID_TIMESTAMP),
        (v1_record(timestamp="2025-03-01T10:00:60Z"), Reason.INVALID_TIMESTAMP),
        (v1_record(timestamp="2025-03-03T00:00:00Z"), Reason.FUTURE_TIMESTAMP),
        (v1_record(timestamp="2025-02-26T23:59:59.999Z"), Reason.TOO_LATE),
        (v1_record(payload={"latency_ms": -0.5}), Reason.NEGATIVE_LATENCY),
        (v1_record(payload={"latency_ms": "5"}), Reason.INVALID_LATENCY),
        (v1_record(payload={"latency_ms": True}), Reason.INVALID_LATENCY),
        (v1_record(payload={"latency_ms": {"ms": 5}}), Reason.INVALID_LATENCY),
    ],
)
def test_event_reason_codes(line, reason):
    assert one(line) == reason


@pytest.mark.parametrize(
    "record",
    [
        v1_record(),
        v1_record(timestamp="2025-03-02T23:59:59Z"),  # one day early is fine
        v1_record(timestamp="2025-02-27T00:00:00Z"),  # two days late is fine
        v1_record(timestamp="2025-03-01T10:00:00.123456789+05:30"),
        v1_record(payload={"latency_ms": 0}),
        v1_record(payload={"latency_ms": None}),
        v1_record(payload={}),
        v1_record(channel="anything", event="open_set_event"),
    ],
)
def test_valid_events(record):
    assert one(record) is None


def test_first_failing_rule_wins():
    everything_wrong = v1_record(
        schema_version="telemetry_event_v9",
        event="",
        timestamp="nope",
        payload={"latency_ms": -1},
    )
    assert one(everything_wrong) == Reason.UNKNOWN_SCHEMA_VERSION
    assert one(v1_record(event="", timestamp="nope")) == Reason.EMPTY_EVENT
    assert one(v1_record(timestamp="nope", payload={"latency_ms": "x"})) == Reason.INVALID_TIMESTAMP
    assert one({"channel": 42}) == Reason.MISSING_FIELD  # missing beats wrong type
    assert one(v1_record(timestamp="2025-03-05T00:00:00Z", payload={"latency_ms": -1})) == (
        Reason.FUTURE_TIMESTAMP
    )


def test_raising_late_days_admits_old_records():
    old = v1_record(timestamp="2025-02-25T12:00:00Z")
    assert one(old, late_days=2) == Reason.TOO_LATE
    assert one(old, late_days=4) is None


def test_truncated_last_line_versus_valid_unterminated_line():
    cut = jsonl(v1_record(), '{"schema_version": "telemetry_event_v1", "chan', terminated=False)
    assert verdicts(FileFormat.EVENTS, cut) == [None, Reason.TRUNCATED_LINE]
    whole = jsonl(v1_record(), v1_record(event="last"), terminated=False)
    assert verdicts(FileFormat.EVENTS, whole) == [None, None]
    cut_mid_character = jsonl(v1_record(), b'{"event": "caf\xc3', terminated=False)
    assert verdicts(FileFormat.EVENTS, cut_mid_character) == [None, Reason.TRUNCATED_LINE]
    not_an_object = jsonl(v1_record(), "[1]", terminated=False)
    assert verdicts(FileFormat.EVENTS, not_an_object) == [None, Reason.INVALID_JSON]


def test_line_numbers_count_blank_lines():
    data = b"\n" + jsonl(v1_record()) + b"  \n" + jsonl("{bad")
    frame = gate(FileFormat.EVENTS, data)
    assert frame.get_column("source_line").to_list() == [2, 4]


def test_mixed_timezone_styles_in_one_file_all_parse():
    stamps = [
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:00:00",
        "2025-03-01T12:00:00+02:00",
        "2025-03-01T05:00:00.000-05:00",
        "2025-03-01T10:00:00.000000000Z",
    ]
    frame = gate(FileFormat.EVENTS, jsonl(*(v1_record(timestamp=s) for s in stamps)))
    assert frame.get_column("reason").to_list() == [None] * 5
    micros = frame.get_column("ts_us").unique().to_list()
    assert micros == [int(dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC).timestamp() * 1_000_000)]


def test_offsets_move_records_across_midnight():
    frame = gate(
        FileFormat.EVENTS,
        jsonl(
            v1_record(timestamp="2025-03-01T23:30:00-01:00"),
            v1_record(timestamp="2025-03-01T00:30:00+01:00"),
        ),
    )
    assert frame.get_column("event_day").to_list() == [dt.date(2025, 3, 2), dt.date(2025, 2, 28)]


def test_identity_ignores_key_order_spacing_and_escapes():
    compact = json.dumps(
        v1_record(event="café", payload={"b": 1, "a": {"y": 2, "x": 1}}),
        separators=(",", ":"),
        ensure_ascii=False,
    )
    spaced = (
        '{ "payload": {"a": {"x": 1, "y": 2}, "b": 1}, "event": "caf\\u00e9",\t'
        '"timestamp": "2025-03-01T10:00:00Z", "channel": "user", '
        '"schema_version": "telemetry_event_v1" }'
    )
    other = json.dumps(v1_record(event="café", payload={"b": 1.0, "a": {"y": 2, "x": 1}}))
    ids = gate(FileFormat.EVENTS, jsonl(compact, spaced, other)).get_column("event_id").to_list()
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]  # numbers as parsed: 1.0 is not 1


def test_keys_integer_and_string_user_ids_are_one_user():
    frame = gate(
        FileFormat.EVENTS,
        jsonl(
            v1_record(payload={"user_id": 1000123, "feature_id": 7, "session_id": "s"}),
            v1_record(payload={"user_id": "1000123", "feature_id": "", "service": None}),
            v1_record(payload={"user_id": 1.5, "service": "api"}),
        ),
    )
    assert frame.get_column("user_id").to_list() == ["1000123", "1000123", None]
    assert frame.get_column("feature_id").to_list() == ["7", None, None]
    assert frame.get_column("service").to_list() == [None, None, "api"]


CSV_HEADER = "timestamp,user_id,feature_id,latency_ms"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2025-03-01T10:00:00Z,00123,search,12.5", None),
        ("2025-03-01T10:00:00Z,,,", None),
        ('"2025-03-01T10:00:00Z","u,1","search","7"', None),
        (",u1,search,5", Reason.MISSING_FIELD),
        ("2025-03-01T10:00:00Z,u1,search,fast", Reason.INVALID_LATENCY),
        ("2025-03-01T10:00:00Z,u1,search,1e3", Reason.INVALID_LATENCY),
        ("2025-03-01T10:00:00Z,u1,search,-3", Reason.NEGATIVE_LATENCY),
        ("2025-03-01T10:00:00Z,u1,search", Reason.BAD_COLUMN_COUNT),
        ("2025-03-01T10:00:00Z,u1,search,1,extra", Reason.BAD_COLUMN_COUNT),
        ("2025-31-01T10:00:00Z,u1,search,1", Reason.INVALID_TIMESTAMP),
        ("2025-03-04T10:00:00Z,u1,search,1", Reason.FUTURE_TIMESTAMP),
        ("2025-02-20T10:00:00Z,u1,search,1", Reason.TOO_LATE),
        (b"2025-03-01T10:00:00Z,\xff,search,1", Reason.INVALID_JSON),
    ],
)
def test_csv_reason_codes(row, reason):
    data = jsonl(CSV_HEADER, row)
    assert verdicts(FileFormat.PRODUCT_ANALYTICS, data) == [reason]


def test_csv_maps_by_header_name_and_keeps_extra_columns():
    data = jsonl(
        "\ufeffplan,latency_ms,feature_id,event,timestamp,user_id",
        "pro,12,export,,2025-03-01T10:00:00Z,007",
        "free,,search,search_opened,2025-03-01T11:00:00Z,",
    )
    frame = gate(FileFormat.PRODUCT_ANALYTICS, data)
    assert frame.get_column("reason").to_list() == [None, None]
    assert frame.get_column("source_line").to_list() == [2, 3]
    assert frame.get_column("event").to_list() == ["feature_used", "search_opened"]
    assert frame.get_column("channel").to_list() == ["user", "user"]
    assert frame.get_column("user_id").to_list() == ["007", None]
    assert frame.get_column("latency_ms").to_list() == [12.0, None]
    payloads = [json.loads(p) for p in frame.get_column("payload")]
    assert payloads == [
        {"feature_id": "export", "latency_ms": 12, "plan": "pro", "user_id": "007"},
        {"feature_id": "search", "plan": "free"},
    ]


def test_csv_carriage_return_and_long_cells_are_ordinary_content():
    long_feature = "f" * 300_000
    data = jsonl(
        CSV_HEADER,
        "2025-03-01T10:00:00Z,u\r1,search,1",
        f"2025-03-01T10:00:00Z,u2,{long_feature},2",
    )
    frame = gate(FileFormat.PRODUCT_ANALYTICS, data)
    assert frame.get_column("reason").to_list() == [None, None]
    assert frame.get_column("user_id").to_list() == ["u\r1", "u2"]
    assert json.loads(frame.get_column("payload")[1])["feature_id"] == long_feature


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("\r\x00", Reason.BAD_COLUMN_COUNT),
        ('"timestamp"x,user_id,feature_id,latency_ms', Reason.MISSING_FIELD),
        ('timestamp,user_id,feature_id,"latency_ms', None),
    ],
)
def test_csv_garbled_header_still_gives_every_row_a_verdict(header, reason):
    data = jsonl(header, "2025-03-01T10:00:00Z,u1,search,1")
    assert verdicts(FileFormat.PRODUCT_ANALYTICS, data) == [reason]


def test_csv_without_timestamp_column_quarantines_every_row():
    data = jsonl("user_id,feature_id", "u1,search", "u2,export")
    assert verdicts(FileFormat.PRODUCT_ANALYTICS, data) == [Reason.MISSING_FIELD] * 2


def test_csv_short_unterminated_last_row_is_truncated():
    data = jsonl(
        CSV_HEADER, "2025-03-01T10:00:00Z,u1,search,1", "2025-03-01T10:0", terminated=False
    )
    assert verdicts(FileFormat.PRODUCT_ANALYTICS, data) == [None, Reason.TRUNCATED_LINE]


def test_csv_identity_matches_equivalent_event_record():
    csv_frame = gate(
        FileFormat.PRODUCT_ANALYTICS, jsonl(CSV_HEADER, "2025-03-01T10:00:00Z,1000123,search,12")
    )
    event = v1_record(
        event="feature_used",
        payload={"feature_id": "search", "latency_ms": 12, "user_id": "1000123"},
    )
    json_frame = gate(FileFormat.EVENTS, jsonl(event))
    assert csv_frame["event_id"].item() == json_frame["event_id"].item()


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (metric_record(), None),
        (metric_record(metric_type="cpu", value=55, tags={"host": "a"}), None),
        (metric_record(tags=None), None),
        (
            {"timestamp": "2025-03-01T10:00:00Z", "service": "api", "metric_type": "cpu"},
            Reason.MISSING_FIELD,
        ),
        (metric_record(service=None), Reason.MISSING_FIELD),
        (metric_record(value="12"), Reason.WRONG_TYPE),
        (metric_record(value=True), Reason.WRONG_TYPE),
        (metric_record(service=3), Reason.WRONG_TYPE),
        (metric_record(tags=["a"]), Reason.WRONG_TYPE),
        (metric_record(metric_type="  "), Reason.EMPTY_EVENT),
        (metric_record(timestamp="yesterday"), Reason.INVALID_TIMESTAMP),
        (metric_record(value=-4), Reason.NEGATIVE_LATENCY),
        (metric_record(metric_type="cpu", value=-4), None),
        (
            metric_record(metric_type="cpu", value=4, tags={"latency_ms": "x"}),
            Reason.INVALID_LATENCY,
        ),
    ],
)
def test_metric_samples(record, reason):
    assert one(record, fmt=FileFormat.METRICS) == reason


def test_metric_sample_mapping():
    frame = gate(
        FileFormat.METRICS,
        jsonl(metric_record(tags={"region": "eu", "service": "ignored"}, value=20)),
    )
    row = frame.row(0, named=True)
    assert (row["schema_version"], row["channel"], row["event"]) == (
        "telemetry_event_v1",
        "metric",
        "latency",
    )
    assert row["service"] == "api"
    assert row["latency_ms"] == 20.0
    assert json.loads(row["payload"]) == {
        "latency_ms": 20,
        "region": "eu",
        "service": "api",
        "value": 20,
    }


def test_details_name_the_problem():
    frame = gate(
        FileFormat.EVENTS,
        jsonl({"channel": "user"}, v1_record(channel=42), v1_record(payload={"latency_ms": "5"})),
    )
    details = frame.get_column("detail").to_list()
    assert details[0] == "missing or null: schema_version, event, timestamp, payload"
    assert details[1] == "channel is number, expected string"
    assert details[2] == "latency_ms is string, expected a number"
