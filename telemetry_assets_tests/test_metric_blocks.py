"""Format C's block path (`landing.metric_blocks`) against its exact path (`metric_samples`).

The property: for any bytes of a metrics file, the block path's candidate rows equal the exact
path's in every column (values, types, canonical payload text, event id), whether a whole
block, a group of lines or single records go to the exact path. The unit tests below pin which
lines the block path takes itself and which it leaves to the exact path, so the property
cannot pass by never taking the fast path.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry_assets.landing import block_path, metric_blocks
from telemetry_assets.landing.decoders import decode, decode_block, decode_blocks
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.json_values import canonical_json
from telemetry_assets.landing.lines import Block, split_lines
from telemetry_assets.landing.metric_blocks import decode_metric_block


@dataclass(frozen=True)
class Number:
    """A JSON number written as given (spellings msgspec and orjson might read differently)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object written member by member, so keys may repeat (the last one wins)."""

    items: tuple[tuple[str, Any], ...]


def write(value: Any, ascii_only: bool = False, spaced: bool = False) -> str:
    comma, colon = (", ", ": ") if spaced else (",", ":")
    if isinstance(value, Number):
        return value.text
    if isinstance(value, Pairs):
        items = value.items
    elif isinstance(value, dict):
        items = tuple(value.items())
    elif isinstance(value, list):
        return "[" + comma.join(write(v, ascii_only, spaced) for v in value) + "]"
    else:
        return json.dumps(value, ensure_ascii=ascii_only)
    return (
        "{"
        + comma.join(
            json.dumps(k, ensure_ascii=ascii_only) + colon + write(v, ascii_only, spaced)
            for k, v in items
        )
        + "}"
    )


BIG_INTS = [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**25, 2**128, 2**200]
NUMBER_TEXTS = [
    "0",
    "-0",
    "-0.0",
    "1E5",
    "1e+5",
    "2.5E-3",
    "1e16",
    "1e-7",
    "123456789012345678",
    "1234567890123456789",
    "0.30000000000000000000001",
    "5e-324",
    "1.7976931348623157e308",
    "100000000000000000000000000000.0",
    "1e400",
    "01",
    "1.",
    "NaN",
]
numbers = (
    st.integers(-1000, 1000)
    | st.sampled_from(BIG_INTS + [-i for i in BIG_INTS])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(NUMBER_TEXTS).map(Number)
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(['"', "\\", "\u2028", "\u0085", "é", "\U0001f600", "\x7f", "\x00"]),
    max_size=6,
)
scalars = numbers | texts | st.booleans() | st.none()
TAG_KEYS = ["user_id", "session_id", "feature_id", "service", "value", "latency_ms", "region"]
flat_tags = st.dictionaries(st.sampled_from(TAG_KEYS) | texts, scalars, max_size=4)
odd_values = st.sampled_from([None, [], [1], {"a": {"b": 1}}, "x", True, {}])


@st.composite
def samples(draw: st.DrawFn) -> Any:
    """A sample object: mostly regular, sometimes with a field missing, null or mistyped,
    nested or non-object tags, an extra key, or a key given twice."""
    obj: dict[str, Any] = {
        "timestamp": draw(st.sampled_from(["2025-03-01T10:00:00Z", "2025-03-01T10:00:00"]) | texts),
        "service": draw(st.sampled_from(["api", "", "é\u2028"]) | texts),
        "metric_type": draw(st.sampled_from(["latency", "cpu", "", " ", "latency "]) | texts),
        "value": draw(numbers),
    }
    if draw(st.booleans()):
        obj["tags"] = draw(flat_tags)
    if draw(st.integers(0, 4)) == 0:  # break it
        field = draw(st.sampled_from(["timestamp", "service", "metric_type", "value", "tags"]))
        how = draw(st.sampled_from(["missing", "odd", "nested", "extra"]))
        if how == "missing":
            obj.pop(field, None)
        elif how == "odd":
            obj[field] = draw(odd_values | numbers)
        elif how == "nested":
            obj["tags"] = {"deep": draw(odd_values)}
        else:
            obj["extra"] = draw(scalars)
    items = tuple(draw(st.permutations(list(obj.items()))))
    if items and draw(st.integers(0, 6)) == 0:  # a key twice: the last one counts
        key, _ = draw(st.sampled_from(items))
        items = ((key, draw(scalars)), *items)
    return Pairs(items)


@st.composite
def sample_lines(draw: st.DrawFn) -> bytes:
    text = write(draw(samples()), draw(st.booleans()), draw(st.booleans())).encode()
    escaped = text.replace(b'"service"', b'"servic\\u0065"')  # an escaped key is the same key
    return draw(
        st.sampled_from(
            [
                *[text] * 5,
                escaped,
                text + text,
                text + b"\r",
                b"",
                b" ",
                b" " + text,
                text[:-1],
                b"[1]",
                b'{"a":"\xff"}',
            ]
        )
    )


def exact_rows(data: bytes) -> pl.DataFrame:
    return decode(FileFormat.METRICS, split_lines(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sample_lines(), max_size=14), st.booleans(), st.integers(1, 5))
def test_block_path_equals_the_exact_path(lines, terminated, group):
    data = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(block_path, "REGULAR_GROUP", group)
        fast = decode_block(FileFormat.METRICS, Block(data, first_line=1, final=True))
    exact = exact_rows(data)
    assert fast.schema == exact.schema
    assert fast.to_dicts() == exact.to_dicts()


regular_samples = st.fixed_dictionaries(
    {
        "timestamp": texts,
        "service": texts,
        "metric_type": st.sampled_from(["latency", "cpu"]) | texts,
        "value": st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False),
    },
    optional={"tags": flat_tags.filter(lambda tags: not any(map(_is_number, tags.values())))},
)


def _is_number(value: Any) -> bool:
    return isinstance(value, Number)


@settings(max_examples=200, deadline=None)
@given(st.lists(regular_samples, min_size=1, max_size=20), st.booleans())
def test_regular_blocks_take_the_block_path(records, ascii_only):
    """Regular samples (any strings, escapes, numbers, flat tags) never need the exact path
    except for the rows holding a number msgspec writes differently, and still equal it."""
    data = b"".join(json.dumps(r, ensure_ascii=ascii_only).encode() + b"\n" for r in records)
    numbers = pl.Series(range(1, len(records) + 1))
    fast = metric_blocks._regular_frame(data, numbers)
    assert fast is not None
    assert fast.to_dicts() == exact_rows(data).to_dicts()


def sample_line(**fields: Any) -> bytes:
    obj = {"timestamp": "2025-03-01T10:00:00Z", "service": "api", "metric_type": "cpu"}
    obj["value"] = 1.5
    obj.update(fields)
    return write({k: v for k, v in obj.items() if v is not _DROP}).encode()


_DROP = object()


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(sample_line(value=_DROP), id="value missing"),
        pytest.param(sample_line(timestamp=None), id="timestamp null"),
        pytest.param(sample_line(service=1000123), id="service an integer"),
        pytest.param(sample_line(metric_type=["latency"]), id="metric_type an array"),
        pytest.param(sample_line(value="5"), id="value a string"),
        pytest.param(sample_line(value=True), id="value a boolean"),
        pytest.param(sample_line(tags=None), id="tags null"),
        pytest.param(sample_line(tags=["a"]), id="tags an array"),
        pytest.param(sample_line(tags={"a": {"b": 1}}), id="nested tags"),
        pytest.param(sample_line(tags={"a": [1]}), id="tags holding an array"),
        pytest.param(sample_line(host="h"), id="an extra key"),
        pytest.param(sample_line(value=Number("1e400")), id="value beyond a double"),
        pytest.param(sample_line(value=Number("NaN")), id="NaN"),
        pytest.param(sample_line(service="a@").replace(b"a@", b"a\xff"), id="not UTF-8"),
        pytest.param(sample_line() + sample_line(), id="two objects on a line"),
        pytest.param(b" " + sample_line(), id="leading blank"),
        pytest.param(b"[" + sample_line() + b"]", id="not an object"),
    ],
)
def test_irregular_lines_go_to_the_exact_path(line):
    regular = sample_line()
    data = regular + b"\n" + line + b"\n" + regular + b"\n"
    assert metric_blocks._regular_frame(data, pl.Series([1, 2, 3])) is None
    assert metric_blocks._regular_frame(regular + b"\n", pl.Series([1])) is not None
    assert_block_equals_exact(data)


def test_a_record_split_over_lines_is_not_taken_as_regular():
    """Lines that each start with `{` and end with `}` but hold a record cut at a comma plus a
    line of two objects: as many values as lines, yet not one per line."""
    whole = sample_line()
    cut = whole.index(b',"service"') + 1
    data = whole[:cut] + b"\n" + whole[cut:] + b"\n" + whole + whole + b"\n"
    assert not block_path.one_object_per_line(data)
    assert metric_blocks._regular_frame(data, pl.Series([1, 2, 3])) is None
    assert_block_equals_exact(data)


@pytest.mark.parametrize(
    "value", ["1e16", "-1.5e300", "12345678901234567890", "-123456789012345678901234567890"]
)
def test_numbers_msgspec_writes_differently_are_redone_exactly(value, monkeypatch):
    lines = [
        sample_line(),
        sample_line(metric_type="latency", value=Number(value)),
        sample_line(tags={"n": Number(value)}),
        sample_line(tags={"s": "1e16 in a string"}),
    ]
    data = b"\n".join(lines) + b"\n"
    redone: list[list[int]] = []
    real = metric_blocks.decode_metric_samples

    def spy(lines):
        redone.append(lines.numbers)
        return real(lines)

    monkeypatch.setattr(metric_blocks, "decode_metric_samples", spy)
    fast = decode_metric_block(Block(data, 1, True))
    assert redone == [[2, 3]]  # only the rows holding the number; the string is no number
    exact = exact_rows(data)
    assert fast.to_dicts() == exact.to_dicts()
    if "e" in value:
        assert "e+" in fast["payload"][1]  # orjson's spelling, not msgspec's


def test_blocks_decoded_together_give_each_block_its_own_rows(monkeypatch):
    """Several small files' blocks go through the block path as one buffer: each block's rows
    are what it gives alone, also where rows are redone exactly (their line numbers restart
    with every file) and where one block is not regular (the batch is halved around it)."""
    huge = sample_line(tags={"n": Number("12345678901234567890")})
    blocks = [
        Block(sample_line() + b"\n" + huge + b"\n" + sample_line() + b"\n", 1, False),
        Block(huge + b"\n" + sample_line(value=2) + b"\n", 1, False),
        Block(sample_line(host="h") + b"\n" + sample_line() + b"\n", 4, False),
        Block(sample_line(value=3) + b"\n" + huge, 1, True),
    ]
    joined: list[int] = []
    real = metric_blocks._regular_frame

    def spy(buffer, numbers):
        joined.append(len(numbers))
        return real(buffer, numbers)

    monkeypatch.setattr(metric_blocks, "_regular_frame", spy)
    together = decode_blocks(FileFormat.METRICS, blocks)
    assert joined[0] == 9  # tried as one buffer first
    alone = [decode_block(FileFormat.METRICS, block) for block in blocks]
    assert [frame.to_dicts() for frame in together] == [frame.to_dicts() for frame in alone]
    assert together[0]["source_line"].to_list() == [1, 2, 3]


def test_regular_sample_columns():
    """A hand-checked row: the mapping, keys from tags, latency from value, types."""
    line = write(
        {
            "value": 12,
            "tags": {"user_id": 1000123, "service": "shadowed", "latency_ms": "x", "r": "é"},
            "metric_type": "latency",
            "service": "api",
            "timestamp": "2025-03-01T10:00:00Z",
        },
        ascii_only=True,
        spaced=True,
    ).encode()
    (row,) = decode_metric_block(Block(line + b"\n", 7, True)).to_dicts()
    assert row["source_line"] == 7
    assert (
        row["payload"] == '{"latency_ms":12,"r":"é","service":"api","user_id":1000123,"value":12}'
    )
    assert (row["event"], row["channel"], row["schema_version"]) == (
        "latency",
        "metric",
        "telemetry_event_v1",
    )
    assert (row["user_id"], row["service"], row["latency_ms"], row["latency_type"]) == (
        "1000123",
        "api",
        12.0,
        "number",
    )
    assert (row["tags_type"], row["value_type"], row["message_type"]) == ("object", "number", None)
    assert {**row, "source_line": 1} == exact_rows(line).to_dicts()[0]


def test_an_empty_block_has_no_rows():
    for fmt in FileFormat:
        empty = decode_block(fmt, Block(b"", 5, True))
        assert empty.height == 0
        assert empty.schema == exact_rows(b"").schema


def assert_block_equals_exact(data: bytes) -> None:
    for group in (1, 2, 4096):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(block_path, "REGULAR_GROUP", group)
            fast = decode_metric_block(Block(data, 1, True))
        assert fast.to_dicts() == exact_rows(data).to_dicts()


def test_msgspec_writes_every_character_and_key_order_as_canonical_json():
    """Why the block path needs no escape guard: for every code point (surrogates are not
    valid JSON text), msgspec's sorted encoder writes strings and orders keys exactly as
    `canonical_json` does."""
    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(characters)
    assert block_path.SORTED_ENCODER.encode(text) == canonical_json(text)
    shuffled = characters.copy()
    random.Random(7).shuffle(shuffled)  # keys given in no order; prefixes shared
    keys = {f"{c}{d}": 0 for c, d in zip(shuffled, characters, strict=True)} | dict.fromkeys(
        ("a" + c for c in shuffled[:1000]), 1
    )
    assert block_path.SORTED_ENCODER.encode(keys) == canonical_json(keys)
