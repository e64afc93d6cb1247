"""Hardening cases of issue 13: the block fast path against the exact path, integers beyond 64
bits, deep nesting, hidden landing names, `before_start_date`, same-size rewrites, pandera
switched off, the conservation check against a lossy reader, and reader bugs named by line."""

import datetime as dt
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from pandera.config import config_context

from telemetry_assets import record_census, staging
from telemetry_assets.defs.ingest import checks as ingest_checks
from telemetry_assets.landing import metric_samples
from telemetry_assets.landing.decoders import decode
from telemetry_assets.landing.event_blocks import decode_event_block
from telemetry_assets.landing.events import decode_events
from telemetry_assets.landing.files import FileFormat, scan_landing
from telemetry_assets.landing.lines import Block, LineBlocks, split_lines
from telemetry_assets.schemas.gate import ValidationDisabledError, apply_gate
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE, RAW_EVENTS
from telemetry_assets_tests.factories import jsonl, metric_record, v1_record, write_file

D1 = dt.date(2025, 3, 1)
BIG = 18446744073709551616  # 2**64: one beyond the 64-bit range
MAIN = Path(__file__).resolve().parents[1]


def compact(record) -> str:
    return json.dumps(record, separators=(",", ":"))


def stage(tmp_path: Path, files: dict[str, bytes]) -> pl.DataFrame:
    """The real staging path (`write_parts`) on a fresh landing folder: the raw rows."""
    landing = tmp_path / "landing"
    for name, content in files.items():
        write_file(landing, name, content)
    scan = scan_landing(landing)
    root = tmp_path / "warehouse"
    staging.write_parts(root, scan.files)
    parts = [pl.read_parquet(staging.part_path(root, f)) for f in scan.files]
    return pl.concat(parts).sort("source_file", "source_line")


def gate(fmt: FileFormat, data: bytes, file_day=D1, late_days=2, start_date=None):
    candidates = decode(fmt, split_lines(data, fmt.has_header))
    candidates = candidates.with_columns(file_day=pl.lit(file_day))
    if start_date is None:
        return apply_gate(candidates, late_days)
    return apply_gate(candidates, late_days, start_date)


def check_results(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# --- the block fast path --------------------------------------------------------------------


def _tricky_block() -> tuple[bytes, list[int]]:
    """Regular lines with a record split at a comma over two lines and a line holding two
    objects: as many JSON values as physical lines, but not one per line."""
    good = [
        compact(v1_record(event=f"e{i}", payload={"user_id": f"u{i}", "latency_ms": i}))
        for i in range(12)
    ]
    split = [
        '{"schema_version":"telemetry_event_v1",',
        '"channel":"user","event":"split","timestamp":"2025-03-01T10:00:00Z","payload":{}}',
    ]
    two = compact(v1_record(event="x")) + compact(v1_record(event="y"))
    lines = good[:4] + split + good[4:8] + [two] + good[8:]
    return ("\n".join(lines) + "\n").encode(), [5, 6, 11]


@pytest.mark.parametrize("via", ["block", "line_blocks"])
def test_block_path_never_takes_a_split_record_or_two_objects_as_lines(tmp_path, via):
    data, bad_lines = _tricky_block()
    exact = decode_events(split_lines(data))
    if via == "block":
        fast = decode_event_block(Block(data, 1, True))
    else:
        path = tmp_path / "events-2025-03-01T10.jsonl"
        path.write_bytes(data)
        blocks = list(LineBlocks(path, False, block_bytes=1 << 20))
        assert [len(b.data) for b in blocks] == [len(data), 0]  # one block of all lines
        fast = pl.concat([decode_event_block(b) for b in blocks])
    columns = ["source_line", "raw", "event_id", "payload", "parse_error"]
    assert fast.select(columns).rows() == exact.select(columns).rows()
    gated = apply_gate(fast.with_columns(file_day=pl.lit(D1)), 2)
    rejected = gated.filter(pl.col("reason").is_not_null())
    assert rejected.select("source_line", "reason").rows() == [
        (n, "invalid_json") for n in bad_lines
    ]
    assert gated.height == 15
    valid = gated.filter(pl.col("reason").is_null())
    expected_ids = [
        hashlib.sha256(compact_sorted(json.loads(line)).encode()).hexdigest()
        for number, line in enumerate(data.decode().split("\n")[:-1], start=1)
        if number not in bad_lines
    ]
    assert valid["event_id"].to_list() == expected_ids


def compact_sorted(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- integers beyond 64 bits ---------------------------------------------------------------


def test_integers_beyond_64_bits_stage_as_valid_records(tmp_path):
    rows = stage(
        tmp_path,
        {
            "product-analytics-2025-03-01.csv": (
                f"timestamp,user_id,feature_id,latency_ms\n2025-03-01T10:00:00Z,u1,f1,{BIG}\n"
            ).encode(),
            "events-2025-03-01T10.jsonl": jsonl(
                f'{{"schema_version":"telemetry_event_v1","channel":"user","event":"big",'
                f'"timestamp":"2025-03-01T10:00:00Z","payload":{{"latency_ms":{BIG},'
                f'"n":-{BIG - 1},"list":[{BIG},1]}}}}'
            ),
            "metrics-2025-03-01T10.jsonl": jsonl(
                f'{{"timestamp":"2025-03-01T10:00:00Z","service":"api","metric_type":"latency",'
                f'"value":{BIG}}}',
                f'{{"timestamp":"2025-03-01T10:00:00Z","service":"api","metric_type":"count",'
                f'"value":{BIG * 10}}}',
            ),
        },
    )
    assert rows["reason"].to_list() == [None] * 4
    by_format = {fmt: frame for (fmt,), frame in rows.partition_by("format", as_dict=True).items()}
    csv = by_format["product_analytics"].row(0, named=True)
    assert csv["latency_ms"] == float(BIG)
    assert json.loads(csv["payload"])["latency_ms"] == BIG
    event = by_format["events"].row(0, named=True)
    assert event["latency_ms"] == float(BIG)
    assert json.loads(event["payload"]) == {"latency_ms": BIG, "n": -(BIG - 1), "list": [BIG, 1]}
    assert f'"n":-{BIG - 1}' in event["payload"]
    latency, count = by_format["metrics"].sort("source_line").iter_rows(named=True)
    assert latency["latency_ms"] == float(BIG)
    assert json.loads(latency["payload"]) == {"latency_ms": BIG, "service": "api", "value": BIG}
    assert json.loads(count["payload"])["value"] == BIG * 10
    assert count["latency_ms"] is None


HUGE = 2**128  # beyond 128 bits: Polars' JSON reader cannot even skip it


@pytest.mark.parametrize(
    "fmt",
    [
        "csv",
        "metrics",
        "events_exact",
        "events_block_path",
    ],
)
def test_integers_beyond_128_bits_stage_as_valid_records(tmp_path, fmt):
    """Any integer is valid JSON; the digits stay in the payload, on every path (Polars' JSON
    reader cannot even skip such a number, so the block path hands the block to the exact one)."""
    envelope = (
        '{"schema_version":"telemetry_event_v1","channel":"user","event":"huge",'
        '"timestamp":"2025-03-01T10:00:00Z","payload":{"n":%d,"latency_ms":%d}%s}'
    )
    files = {
        "csv": (
            "product-analytics-2025-03-01.csv",
            f"timestamp,latency_ms,n\n2025-03-01T10:00:00Z,{HUGE},{HUGE}\n".encode(),
        ),
        "metrics": (
            "metrics-2025-03-01T10.jsonl",
            jsonl(
                '{"timestamp":"2025-03-01T10:00:00Z","service":"api","metric_type":"latency",'
                f'"value":{HUGE},"tags":{{"n":-{HUGE}}}}}'
            ),
        ),
        # a sixth key makes the record irregular: it never takes the block path
        "events_exact": (
            "events-2025-03-01T10.jsonl",
            jsonl(envelope % (-HUGE, HUGE, ',"extra":1')),
        ),
        "events_block_path": ("events-2025-03-01T10.jsonl", jsonl(envelope % (-HUGE, HUGE, ""))),
    }
    name, content = files[fmt]
    rows = stage(tmp_path, {name: content})
    row = rows.row(0, named=True)
    assert row["reason"] is None
    assert row["latency_ms"] == float(HUGE)
    assert str(HUGE) in row["payload"]


# --- deep nesting ----------------------------------------------------------------------------


def nest(depth: int) -> str:
    """An object `depth` levels deep: {"a":{"a":...{}}} (a depth of 1 is `{}`)."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def v1_line(payload: str, event: str = "deep") -> str:
    return (
        f'{{"schema_version":"telemetry_event_v1","channel":"user","event":"{event}",'
        f'"timestamp":"2025-03-01T10:00:00Z","payload":{payload}}}'
    )


def test_deep_nesting_gets_the_right_verdicts(tmp_path):
    # The record object is level 1, so a payload of depth 1023 makes a line of depth 1024.
    rows = stage(
        tmp_path,
        {
            "events-2025-03-01T10.jsonl": jsonl(
                v1_line(nest(1023), "d1024"), v1_line(nest(1024), "d1025"), v1_line("{}", "flat")
            ),
            "metrics-2025-03-01T10.jsonl": jsonl(
                '{"timestamp":"2025-03-01T10:00:00Z","service":"api","metric_type":"cpu",'
                f'"value":1,"tags":{nest(300)}}}'
            ),
            "logs-2025-03-01T10.jsonl": jsonl(
                '{"ts":"2025-03-01T10:00:00Z","service":"api","level":"info","message":"m",'
                f'"context":{nest(300)}}}'
            ),
        },
    )
    events = rows.filter(pl.col("format") == "events")
    assert events["reason"].to_list() == [None, "invalid_json", None]
    deep = events.row(0, named=True)
    assert deep["payload"] == nest(1023)
    canonical = (
        f'{{"channel":"user","event":"d1024","payload":{nest(1023)},'
        '"schema_version":"telemetry_event_v1","timestamp":"2025-03-01T10:00:00Z"}'
    )
    assert deep["event_id"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert events["raw"][1] == v1_line(nest(1024), "d1025")
    metric = rows.filter(pl.col("format") == "metrics").row(0, named=True)
    assert metric["reason"] is None
    assert metric["payload"] == f'{{"a":{nest(299)},"service":"api","value":1}}'
    log = rows.filter(pl.col("format") == "logs").row(0, named=True)
    assert log["reason"] is None
    assert log["payload"] == f'{{"a":{nest(299)},"message":"m","service":"api"}}'


def test_too_deep_regular_record_is_invalid_json_under_a_raised_recursion_limit():
    """msgspec's depth limit follows Python's recursion limit; the verdict must not."""
    line = (v1_line(nest(1024), "d1025") + "\n").encode()
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(3000)
    try:
        frame = decode_event_block(Block(line, 1, True))
    finally:
        sys.setrecursionlimit(previous)
    assert frame["parse_error"].to_list() == ["invalid_json"]


def test_deep_nesting_end_to_end(pipeline):
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(v1_line(nest(1023), "d1024"), v1_line(nest(1024), "d1025"), v1_line("{}")),
    )
    write_file(
        pipeline.landing,
        "metrics-2025-03-01T10.jsonl",
        jsonl(
            '{"timestamp":"2025-03-01T10:00:00Z","service":"api","metric_type":"latency",'
            f'"value":5,"tags":{nest(300)}}}'
        ),
    )
    result = pipeline.materialize("2025-03-01")
    assert result.success
    assert sorted(pipeline.table(EVENTS, D1)["event"].to_list()) == ["d1024", "deep", "latency"]
    assert pipeline.table(QUARANTINE, D1).select("source_line", "reason").rows() == [
        (2, "invalid_json")
    ]
    assert all(e.passed for e in check_results(result).values())


# --- hidden names ----------------------------------------------------------------------------

HIDDEN = [
    ".staging/events-2025-03-01T10.jsonl",
    "_tmp/events-2025-03-01T10.jsonl",
    ".events-2025-03-01T10.jsonl",
    "_events-2025-03-01T10.jsonl",
    "sub/.events-2025-03-01T11.jsonl",
    "sub/_metrics-2025-03-01T10.jsonl",
]


def _land_hidden(landing: Path) -> None:
    for index, name in enumerate(HIDDEN):
        write_file(landing, name, jsonl(v1_record(event=f"hidden{index}"), "{broken"))
    write_file(landing, "sub/events-2025-03-01T10.jsonl", jsonl(v1_record(event="seen")))


def test_hidden_names_are_not_scanned(tmp_path):
    _land_hidden(tmp_path)
    scan = scan_landing(tmp_path)
    assert [f.rel_path for f in scan.files] == ["sub/events-2025-03-01T10.jsonl"]
    assert scan.skipped == {}


def test_hidden_names_never_reach_a_table(pipeline):
    _land_hidden(pipeline.landing)
    result = pipeline.materialize("2025-03-01")
    assert result.success
    assert pipeline.table(EVENTS, D1)["event"].to_list() == ["seen"]
    assert pipeline.table(QUARANTINE, D1).height == 0
    assert set(pipeline.table(RAW_EVENTS)["source_file"]) == {"sub/events-2025-03-01T10.jsonl"}
    assert pipeline.table(INGEST_STATS, D1)["records_read"].to_list() == [1]
    assert all(e.passed for e in check_results(result).values())


# --- before_start_date ---------------------------------------------------------------------

JAN1 = dt.date(2025, 1, 1)


def test_before_start_date_in_the_gate():
    data = jsonl(
        v1_record(timestamp="2024-12-31T23:00:00Z"), v1_record(timestamp="2025-01-01T01:00:00Z")
    )
    gated = gate(FileFormat.EVENTS, data, file_day=JAN1, start_date=JAN1)
    assert gated["reason"].to_list() == ["before_start_date", None]
    assert "TELEMETRY_START_DATE" in gated["detail"][0]
    assert "2024-12-31" in gated["detail"][0]
    earlier = gate(FileFormat.EVENTS, data, file_day=JAN1, start_date=dt.date(2024, 12, 1))
    assert earlier["reason"].to_list() == [None, None]
    # too_late comes first in contract order
    late = gate(
        FileFormat.EVENTS,
        jsonl(v1_record(timestamp="2024-12-20T00:00:00Z")),
        file_day=JAN1,
        start_date=JAN1,
    )
    assert late["reason"].to_list() == ["too_late"]


def test_before_start_date_end_to_end(pipeline):
    pipeline.max_malformed_ratio = 1.0
    write_file(
        pipeline.landing,
        "events-2025-01-01T00.jsonl",
        jsonl(
            v1_record(event="old", timestamp="2024-12-31T23:30:00Z"),
            v1_record(event="new", timestamp="2025-01-01T00:30:00Z"),
        ),
    )
    result = pipeline.materialize("2025-01-01")
    assert result.success
    assert pipeline.table(EVENTS, JAN1)["event"].to_list() == ["new"]
    quarantine = pipeline.table(QUARANTINE, JAN1)
    assert quarantine.select("source_line", "reason", "file_day").rows() == [
        (1, "before_start_date", JAN1)
    ]
    stats = pipeline.table(INGEST_STATS, JAN1).row(0, named=True)
    assert (stats["records_read"], stats["valid"], stats["quarantined"]) == (2, 1, 1)
    assert all(e.passed for e in check_results(result).values())


# --- same-size rewrite with the mtime kept ---------------------------------------------------


def test_same_size_rewrite_with_mtime_kept_replaces_rows(pipeline):
    path = write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(v1_record(event="aaaa"), v1_record(event="cccc")),
    )
    assert pipeline.materialize("2025-03-01").success
    assert sorted(pipeline.table(EVENTS, D1)["event"]) == ["aaaa", "cccc"]
    before = os.stat(path)
    path.write_bytes(jsonl(v1_record(event="bbbb"), v1_record(event="dddd")))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = pipeline.materialize("2025-03-01")
    assert result.success
    assert sorted(pipeline.table(EVENTS, D1)["event"]) == ["bbbb", "dddd"]
    assert pipeline.table(INGEST_STATS, D1)["records_read"].to_list() == [2]
    assert all(e.passed for e in check_results(result).values())


# --- pandera switched off --------------------------------------------------------------------


def test_gate_refuses_when_pandera_validation_is_disabled():
    with (
        config_context(validation_enabled=False),
        pytest.raises(ValidationDisabledError, match="PANDERA_VALIDATION_ENABLED"),
    ):
        gate(FileFormat.EVENTS, jsonl(v1_record(event="")))
    assert gate(FileFormat.EVENTS, jsonl(v1_record(event="")))["reason"].to_list() == [
        "empty_event"
    ]


def test_code_location_refuses_to_load_with_pandera_disabled():
    env = {**os.environ, "PANDERA_VALIDATION_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, "-c", "import telemetry_assets.definitions"],
        cwd=MAIN,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "PANDERA_VALIDATION_ENABLED" in done.stderr
    assert "ValidationDisabledError" in done.stderr


# --- conservation ----------------------------------------------------------------------------


@pytest.fixture(params=["in_turn", "threaded"])
def census_mode(request, monkeypatch):
    """The census counted file after file (small days) or in threads (big days)."""
    if request.param == "threaded":
        monkeypatch.setattr(ingest_checks, "THREADED_CENSUS_BYTES", 0)
    return request.param


def test_conservation_catches_a_reader_that_drops_a_record(pipeline, monkeypatch, census_mode):
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        jsonl(*(v1_record(event=f"e{i}") for i in range(3))),
    )
    real = staging.decode_blocks

    def lossy(fmt, blocks):
        return [
            frame.head(frame.height - 1) if frame.height else frame for frame in real(fmt, blocks)
        ]

    monkeypatch.setattr(staging, "decode_blocks", lossy)
    result = pipeline.materialize("2025-03-01", raise_on_error=False)
    conservation = check_results(result)["conservation"]
    assert not conservation.passed
    problems = conservation.metadata["problems"].value
    assert problems == [
        "2025-03-01: events-2025-03-01T10.jsonl: 3 records in the file, the reader counted 2, "
        "its part holds 2 rows"
    ]


def test_conservation_passes_with_the_real_reader(pipeline, census_mode):
    pipeline.max_malformed_ratio = 1.0
    write_file(
        pipeline.landing,
        "events-2025-03-01T10.jsonl",
        b"\xef\xbb\xbf" + jsonl(v1_record(event="a"), "", "  ", "{bad", v1_record(event="a")),
    )
    write_file(
        pipeline.landing,
        "product-analytics-2025-03-01.csv.gz",
        b"\r\ntimestamp,user_id\r\n2025-03-01T10:00:00Z,u1\r\n\t\r\n2025-03-01T11:00:00Z,u2",
    )
    result = pipeline.materialize("2025-03-01")
    assert result.success
    conservation = check_results(result)["conservation"]
    assert conservation.passed
    assert conservation.metadata["problems"].value == []
    stats = pipeline.table(INGEST_STATS, D1).row(0, named=True)
    assert stats["records_read"] == 5
    assert (stats["valid"], stats["duplicates_removed"], stats["quarantined"]) == (3, 1, 1)


CENSUS_CASES = {
    "bom_crlf_blanks_unterminated": (
        b"\xef\xbb\xbf{a}\r\n\r\n   \n\t\n{b}\n \t\r\n\r\r\n{c}",
        False,
        False,
        4,
    ),
    "bom_only": (b"\xef\xbb\xbf", False, False, 0),
    "empty": (b"", False, False, 0),
    "blank_unterminated_tail": (b"{a}\n \t", False, False, 1),
    "bom_then_blank": (b"\xef\xbb\xbf  \n{a}\n", False, False, 1),
    "bom_not_at_start_is_content": (b"{a}\n\xef\xbb\xbf\n", False, False, 2),
    "csv_header": (b"\n  \ntimestamp,x\r\n\r\n2025,1\n2025,2", False, True, 2),
    "csv_header_only": (b"timestamp,x\n", False, True, 0),
    "form_feed_is_not_blank": (b"\x0c\n{a}\n", False, False, 2),
    "gzip_multi_member": (
        gzip.compress(b"{a}\n{b") + gzip.compress(b"}\n\n{c}\n") + gzip.compress(b"{d}"),
        True,
        False,
        4,
    ),
    "gzip_cut_off": (
        gzip.compress(b"".join(b'{"n":%d}\n' % i for i in range(2000)))[:-40],
        True,
        False,
        None,
    ),
    "gzip_bom_multi_member": (
        gzip.compress(b"\xef\xbb") + gzip.compress(b"\xbf{a}\n"),
        True,
        False,
        1,
    ),
}


@pytest.mark.parametrize("piece", [1, 2, 5, 8 * 1024 * 1024])
@pytest.mark.parametrize("case", sorted(CENSUS_CASES))
def test_record_census_counts_like_the_contract_and_the_reader(tmp_path, monkeypatch, case, piece):
    content, gzipped, has_header, expected = CENSUS_CASES[case]
    path = tmp_path / ("f.gz" if gzipped else "f")
    path.write_bytes(content)
    monkeypatch.setattr(record_census, "_PIECE", piece)
    counted = record_census.count_records(path, gzipped, has_header)
    reader = LineBlocks(path, gzipped, has_header, block_bytes=max(piece, 3))
    records_read = sum(len(block.records) for block in reader)
    if expected is not None:
        assert counted == expected
    assert counted == records_read
    if case == "gzip_cut_off":
        assert reader.read_error is not None
        assert 0 < counted < 2000


# --- a reader bug is reported with its file and line -----------------------------------------


def test_unexpected_decoder_error_names_file_and_line(tmp_path, monkeypatch):
    real = metric_samples._map_sample

    def breaks_on_boom(rows, obj):
        if obj.get("service") == "boom":
            raise ValueError("mapping exploded")
        real(rows, obj)

    monkeypatch.setattr(metric_samples, "_map_sample", breaks_on_boom)
    # an extra key is not a regular sample: the lines take the exact path, where it breaks
    boom = metric_record(service="boom", note="not a regular sample")
    content = jsonl(metric_record(), "", metric_record(value=2), boom)
    with pytest.raises(RuntimeError) as caught:
        stage(tmp_path, {"metrics-2025-03-01T10.jsonl": content})
    message = str(caught.value)
    assert "metrics-2025-03-01T10.jsonl" in message
    assert "line 4" in message
    assert "mapping exploded" in message


def test_unexpected_error_on_the_events_exact_path_names_file_and_line(tmp_path, monkeypatch):
    from telemetry_assets.landing import events

    def broken(rows, obj):
        raise KeyError("general mapping exploded")

    monkeypatch.setattr(events, "_map_any", broken)
    irregular = compact(v1_record(extra=1))  # six keys: not regular, takes the general mapping
    content = jsonl(v1_record(), v1_record(event="b"), irregular)
    with pytest.raises(RuntimeError) as caught:
        stage(tmp_path, {"events-2025-03-01T10.jsonl": content})
    message = str(caught.value)
    assert "events-2025-03-01T10.jsonl" in message
    assert "line 3" in message
