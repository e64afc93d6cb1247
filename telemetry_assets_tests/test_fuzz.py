"""Property tests: whatever bytes land, the reader and gate never crash, every record gets
exactly one verdict, and the counts are conserved."""

import datetime as dt
import hashlib
import io
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry_assets.landing import block_path
from telemetry_assets.landing.decoders import decode
from telemetry_assets.landing.event_blocks import decode_event_block
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import canonical_json
from telemetry_assets.landing.lines import Block, split_lines
from telemetry_assets.schemas.gate import apply_gate
from telemetry_assets.schemas.reasons import REASON_ORDER
from telemetry_assets.staging import raw_rows

FILE_DAY = dt.date(2025, 3, 1)
REASONS = {r.value for r in REASON_ORDER}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
timestamps = st.one_of(
    st.text(max_size=30),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(
        lambda d: d.isoformat()
    ),
    st.sampled_from(
        [
            "2025-03-01T10:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-03-01T24:00:00",
            "2025-03-01T10:00:00+23:59",
            "2025-03-01T10:00:00.1234567891Z",
        ]
    ),
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.sampled_from(["telemetry_event_v1", "telemetry_event_v2"])
        | json_values,
        "channel": st.text(max_size=10) | json_values,
        "event": st.text(max_size=10) | json_values,
        "timestamp": timestamps | json_values,
        "payload": st.dictionaries(
            st.sampled_from(["user_id", "latency_ms", "service", "x"]), json_values
        )
        | json_values,
    },
).map(lambda d: json.dumps(d).encode())
lines = st.one_of(
    st.binary(max_size=200),
    envelopes,
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.sampled_from([b"1e400", b'{"a": 1e999}', b"-0", b"\xef\xbb\xbf{}", b"\x00\x01"]),
)


def judge(fmt: FileFormat, data: bytes) -> tuple[pl.DataFrame, int]:
    physical = split_lines(data, fmt.has_header)
    candidates = decode(fmt, physical).with_columns(file_day=pl.lit(FILE_DAY))
    return apply_gate(candidates, late_days=2), len(physical)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=12), st.booleans(), st.sampled_from(list(FileFormat)))
def test_every_record_gets_exactly_one_verdict(records, terminated, fmt):
    data = b"\n".join(records) + (b"\n" if terminated else b"")
    gated, read = judge(fmt, data)
    assert gated.height == read
    valid = gated.filter(pl.col("reason").is_null())
    assert set(gated["reason"].drop_nulls()) <= REASONS
    assert valid["event_id"].null_count() == 0
    assert valid["event_day"].null_count() == 0
    assert gated["source_line"].is_unique().all()
    rows = raw_rows(gated.with_columns(source_file=pl.lit(f"fuzz.{fmt}")))
    assert rows.height == read
    rows.write_parquet(io.BytesIO())  # every value is storable, rejected lines included


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=50_000), min_size=1, max_size=3))
def test_huge_and_binary_lines_never_crash(blobs):
    gated, read = judge(FileFormat.EVENTS, b"\n".join(blobs))
    assert gated.height == read


regular_records = st.fixed_dictionaries(
    {
        "schema_version": st.text(max_size=5),
        "channel": st.text(max_size=5),
        "event": st.text(max_size=5),
        "timestamp": st.text(max_size=5),
        "payload": st.dictionaries(
            st.text(max_size=6),
            json_values | st.floats(min_value=1e15, max_value=1e300) | st.integers(),
            max_size=6,
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(regular_records, min_size=1, max_size=20), st.booleans())
def test_batch_encoding_equals_the_canonical_definition(records, ascii_only):
    """The fast path's event ids and payload texts are exactly `canonical_json`'s."""
    lines = [json.dumps(r, ensure_ascii=ascii_only).encode() for r in records]
    frame = decode(FileFormat.EVENTS, split_lines(b"\n".join(lines)))
    parsed = [json.loads(line) for line in lines]  # integers of any size keep their digits
    assert frame.get_column("event_id").to_list() == [
        hashlib.sha256(canonical_json(record)).hexdigest() for record in parsed
    ]
    assert frame.get_column("payload").to_list() == [
        canonical_json(record["payload"]).decode() for record in parsed
    ]


mostly_valid_keys = st.one_of(
    st.text(max_size=6),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from(["", None]),
    st.integers(-(2**70), 2**70) | st.sampled_from([True, 1.5, [], {}]),
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(("user_id", "session_id", "feature_id", "service"), mostly_valid_keys),
        "latency_ms": st.floats(allow_nan=False, allow_infinity=False)
        | st.integers(-(2**70), 2**70)
        | st.sampled_from([None, "5", True]),
        "x": st.floats(min_value=-1e300, max_value=1e300) | st.integers(-(2**70), 2**70),
        "y": json_values,
    },
)
block_records = st.fixed_dictionaries(
    {
        "schema_version": st.sampled_from(["telemetry_event_v1", 'v"1', "v\x01"]),
        "channel": st.text(max_size=5),
        "event": st.text(max_size=5),
        "timestamp": timestamps,
        "payload": payloads,
    }
)


@st.composite
def block_lines(draw: st.DrawFn) -> bytes:
    """A line as writers produce them: any key order, spacing and escaping, or a broken one."""
    record = draw(block_records)
    if draw(st.integers(0, 9)) == 0:
        record["extra"] = 1  # a sixth key: not the regular shape
    items = draw(st.permutations(list(record.items())))
    text = json.dumps(
        dict(items),
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
    ).encode()
    return draw(
        st.sampled_from([text, text, text, text + b" " + text, text + b"\r", b"", b" ", text[:-1]])
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(block_lines(), max_size=12), st.booleans(), st.integers(1, 5))
def test_block_path_equals_the_exact_path(lines, terminated, group):
    """Every candidate column of the block path equals the line-by-line path's, whether the
    whole block, a group of lines or single records fall back to the exact path."""
    data = b"\n".join(lines) + (b"\n" if terminated else b"")
    exact = decode(FileFormat.EVENTS, split_lines(data))
    original = block_path.REGULAR_GROUP
    block_path.REGULAR_GROUP = group
    try:
        block = decode_event_block(Block(data, first_line=1, final=True))
    finally:
        block_path.REGULAR_GROUP = original
    assert block.schema == exact.schema
    assert block.to_dicts() == exact.to_dicts()


JSON_OF_EVERY_TYPE = [
    *('"u"', '""', '"5"', '"\\u00e9"'),
    *("0", "-0", "12", "9223372036854775807", "18446744073709551615", "1" * 25),
    *("1.5", "-0.0", "1e2", "1E-3", "2.5e+3"),
    *("true", "false", "null", "[]", "[1]", "{}", '{"a":1}'),
]


@pytest.mark.parametrize("key", ["user_id", "service", "latency_ms"])
def test_payload_keys_of_every_json_type_equal_the_exact_path(key):
    """Each payload key the pipeline reads, with a value of every JSON type (or absent), in a
    record the block path takes: its rows equal the exact path's, line by line and as a
    block of all of them together."""
    lines = [
        b'{"schema_version":"telemetry_event_v1","channel":"c","event":"e",'
        b'"timestamp":"2025-03-01T10:00:00Z","payload":{%s}}'
        % (f'"{key}":{value}'.encode() if value else b"")
        for value in [*JSON_OF_EVERY_TYPE, None]
    ]
    for data in [*lines, b"\n".join(lines)]:
        exact = decode(FileFormat.EVENTS, split_lines(data))
        block = decode_event_block(Block(data, first_line=1, final=True))
        assert block.to_dicts() == exact.to_dicts(), data
