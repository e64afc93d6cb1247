"""Producer SDK: buffering, sampling, delivery guarantees, exporters and the landing contract."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from telemetry_assets.landing.files import FileFormat, classify
from telemetry_assets.sdk import Severity, TelemetryClient, TelemetryConfig, landing_export
from telemetry_assets.sdk.buffer import RecordBuffer
from telemetry_assets.sdk.example import main as example_main
from telemetry_assets.sdk.exporters import ConsoleExporter
from telemetry_assets.sdk.http_export import HttpExporter
from telemetry_assets.sdk.landing_export import LandingFileExporter
from telemetry_assets.sdk.records import Record, RecordKind

REPO = Path(__file__).resolve().parents[1]
# No flush-thread interference: tests decide when records are exported.
NEVER_MS = 3_600_000
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")


class MemoryExporter:
    """Keeps exported lines; `gate` (if given) holds every export until it is set."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.lines: dict[RecordKind, list[bytes]] = defaultdict(list)
        self.gate = gate
        self.closed = False
        self._lock = threading.Lock()

    def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
        if self.gate is not None:
            self.gate.wait()
        with self._lock:
            self.lines[kind].extend(lines)
        return len(lines)

    def tick(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def records(self, kind: RecordKind) -> list[dict]:
        return [json.loads(line) for line in self.lines[kind]]

    def total(self) -> int:
        return sum(len(v) for v in self.lines.values())


def client(exporter: MemoryExporter, **settings) -> TelemetryClient:
    settings.setdefault("flush_interval_ms", NEVER_MS)
    return TelemetryClient(TelemetryConfig(**settings), exporter=exporter)


def conserved(telemetry: TelemetryClient) -> bool:
    s = telemetry.stats()
    return s.recorded == s.exported + s.failed + s.dropped + s.sampled_out + s.buffered


# -- buffer --------------------------------------------------------------------------------


def test_buffer_counts_drops_when_full_and_keeps_the_oldest() -> None:
    buffer = RecordBuffer(capacity=10, high_water=5)
    kept = [buffer.offer(Record("metrics", str(i).encode())) for i in range(15)]
    assert kept == [True] * 10 + [False] * 5
    assert buffer.dropped == 5
    assert buffer.high_water_reached.is_set()
    assert [r.line for r in buffer.drain()] == [str(i).encode() for i in range(10)]
    assert len(buffer) == 0 and not buffer.high_water_reached.is_set()


def test_full_buffer_drops_without_blocking_the_caller() -> None:
    gate = threading.Event()
    exporter = MemoryExporter(gate)
    telemetry = client(exporter, buffer_size=10, high_water=1.0)
    started = time.perf_counter()
    for i in range(100):
        telemetry.gauge("depth", i)
    assert time.perf_counter() - started < 1.0  # the exporter is stuck; recording is not
    stats = telemetry.stats()
    assert stats.recorded == 100
    assert stats.dropped >= 80  # at most 10 buffered plus 10 held by the stuck exporter
    gate.set()
    telemetry.close()
    stats = telemetry.stats()
    assert stats.exported == exporter.total() == 100 - stats.dropped
    assert stats.buffered == 0 and conserved(telemetry)


def test_high_water_wakes_the_flush_thread_before_the_interval() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, buffer_size=100, high_water=0.1)
    for i in range(10):
        telemetry.counter("hits", tags={"i": i})
    deadline = time.monotonic() + 5
    while exporter.total() < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert exporter.total() == 10
    telemetry.close()


def test_flush_thread_exports_every_interval() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, flush_interval_ms=10)
    telemetry.event("started")
    deadline = time.monotonic() + 5
    while exporter.total() < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert exporter.total() == 1
    telemetry.close()
    assert exporter.closed


# -- sampling ------------------------------------------------------------------------------


def test_sampling_keeps_the_rate_within_binomial_spread_and_is_reproducible() -> None:
    n, rate = 10_000, 0.1
    runs = []
    for _ in range(2):
        exporter = MemoryExporter()
        telemetry = TelemetryClient(
            TelemetryConfig(sample_rate=rate, buffer_size=n, flush_interval_ms=NEVER_MS),
            exporter=exporter,
            rng=random.Random(20261130),
        )
        for i in range(n):
            telemetry.gauge("g", i)
        telemetry.close()
        stats = telemetry.stats()
        assert stats.exported + stats.sampled_out == n and conserved(telemetry)
        runs.append([r["value"] for r in exporter.records("metrics")])
    kept = len(runs[0])
    # Binomial(n, p): sd = sqrt(n p (1-p)) = 30; 4 sd is a 1-in-15,000 false alarm per seed.
    assert abs(kept - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate))
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 50)])
def test_sampling_edges(rate: float, expected: int) -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, sample_rate=rate)
    for _ in range(50):
        telemetry.counter("c")
    telemetry.close()
    assert exporter.total() == expected


def test_spans_are_sampled_per_trace() -> None:
    exporter = MemoryExporter()
    telemetry = TelemetryClient(
        TelemetryConfig(sample_rate=0.5, flush_interval_ms=NEVER_MS),
        exporter=exporter,
        rng=random.Random(7),
    )
    for _ in range(200):
        with telemetry.span("outer"), telemetry.span("inner"):
            pass
    telemetry.close()
    per_trace: dict[str, int] = defaultdict(int)
    for record in exporter.records("events"):
        per_trace[record["payload"]["trace_id"]] += 1
    assert set(per_trace.values()) == {2}  # whole traces kept, never a lone child
    assert 50 < len(per_trace) < 150
    assert telemetry.stats().sampled_out == 2 * (200 - len(per_trace))


# -- records -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.gauge("g", math.nan),
        lambda t: t.histogram("h", math.inf),
        lambda t: t.gauge("g", True),
        lambda t: t.gauge("", 1),
        lambda t: t.gauge("  ", 1),
        lambda t: t.counter("c", -1),
        lambda t: t.gauge("g", 1, {"k": math.nan}),
        lambda t: t.gauge("g", 1, {"latency_ms": "fast"}),
        lambda t: t.gauge("g", 1, timestamp=dt.datetime(2026, 1, 1)),
        lambda t: t.gauge("g", 1, timestamp=dt.datetime.now(dt.UTC) + dt.timedelta(days=2)),
        lambda t: t.event("e", {"nested": {"x": math.nan}}),
        lambda t: t.event("e", {"latency_ms": -5}),
        lambda t: t.event("e", {"obj": object()}),
        lambda t: t.event("e", severity="loud"),
        lambda t: t.event("e", channel=""),
        lambda t: t.log("info", 42),
        lambda t: t.log("", "message"),
        lambda t: t.span(""),
    ],
)
def test_invalid_input_raises_at_the_call_and_records_nothing(call) -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter)
    with pytest.raises(ValueError):
        call(telemetry)
    telemetry.close()
    assert telemetry.stats().recorded == 0 and exporter.total() == 0


def test_records_merge_global_tags_and_carry_severity() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, service="checkout", tags={"region": "eu", "env": "prod"})
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    telemetry.counter("orders", 2, {"env": "canary"}, timestamp=when)
    telemetry.gauge("old", 1, timestamp=dt.datetime(999, 1, 2, tzinfo=dt.UTC))
    telemetry.event("payment_failed", {"user_id": "u1"}, severity=Severity.ERROR, channel="user")
    telemetry.log("WARNING", "slow", {"attempt": 2})
    telemetry.close()
    metric, old = exporter.records("metrics")
    assert old["timestamp"] == "0999-01-02T00:00:00.000000Z"
    assert metric == {
        "timestamp": "2026-03-01T10:30:00.000000Z",
        "service": "checkout",
        "metric_type": "orders",
        "value": 2,
        "tags": {"region": "eu", "env": "canary", "metric_kind": "counter"},
    }
    [event] = exporter.records("events")
    assert event["channel"] == "user" and event["event"] == "payment_failed"
    assert event["payload"] == {
        "region": "eu",
        "env": "prod",
        "service": "checkout",
        "user_id": "u1",
        "severity": "error",
    }
    [log] = exporter.records("logs")
    assert log["level"] == "WARNING" and log["context"] == {
        "region": "eu",
        "env": "prod",
        "attempt": 2,
    }


def test_identical_records_get_distinct_timestamps_so_the_pipeline_keeps_them_all() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter)
    for _ in range(2_000):
        telemetry.counter("hits", tags={"route": "/"})
    telemetry.close()
    stamps = [r["timestamp"] for r in exporter.records("metrics")]
    assert stamps == sorted(stamps) and len(set(stamps)) == 2_000


# -- spans ---------------------------------------------------------------------------------


def test_spans_measure_durations_and_nest_parent_ids() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, service="api")
    with telemetry.span("request", {"route": "/pay"}) as outer:
        time.sleep(0.02)
        with telemetry.span("db.query") as inner:
            time.sleep(0.03)
            telemetry.log("info", "querying")
        outer.set_attribute("rows", 3)
    telemetry.close()
    by_name = {r["event"]: r for r in exporter.records("events")}
    parent, child = by_name["request"]["payload"], by_name["db.query"]["payload"]
    assert {r["channel"] for r in by_name.values()} == {"trace"}
    assert re.fullmatch(r"[0-9a-f]{32}", parent["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", parent["span_id"])
    assert parent["parent_span_id"] is None
    assert child["trace_id"] == parent["trace_id"]
    assert child["parent_span_id"] == parent["span_id"] == outer.span_id
    assert child["span_id"] == inner.span_id != parent["span_id"]
    assert 30 <= child["latency_ms"] < parent["latency_ms"]
    assert parent["latency_ms"] >= 50
    assert parent["route"] == "/pay" and parent["rows"] == 3 and parent["service"] == "api"
    assert parent["status"] == child["status"] == "ok"
    assert by_name["request"]["timestamp"] <= by_name["db.query"]["timestamp"]
    [log] = exporter.records("logs")
    assert log["context"] == {"trace_id": inner.trace_id, "span_id": inner.span_id}


def test_span_decorator_and_errors() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter)

    @telemetry.span("job", {"kind": "nightly"})
    def job(fail: bool) -> str:
        if fail:
            raise RuntimeError("boom")
        return "done"

    assert job(False) == "done"
    with pytest.raises(RuntimeError, match="boom"):
        job(True)
    telemetry.close()
    first, second = (r["payload"] for r in exporter.records("events"))
    assert first["status"] == "ok" and "error_type" not in first
    assert second["status"] == "error" and second["error_type"] == "RuntimeError"
    assert first["trace_id"] != second["trace_id"]  # each call is its own root span
    assert first["kind"] == second["kind"] == "nightly"


# -- lifecycle -----------------------------------------------------------------------------


def test_records_after_close_are_counted_as_dropped() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter)
    telemetry.close()
    telemetry.close()  # idempotent
    telemetry.counter("late")
    assert telemetry.stats().dropped == 1 and conserved(telemetry)


def test_disabled_client_exports_nothing_but_still_validates() -> None:
    exporter = MemoryExporter()
    telemetry = client(exporter, enabled=False)
    telemetry.gauge("g", 1)
    with pytest.raises(ValueError):
        telemetry.gauge("g", math.nan)
    telemetry.flush()
    telemetry.close()
    assert exporter.total() == 0 and telemetry.stats().recorded == 0


def test_config_is_checked_up_front() -> None:
    for bad in ({"sample_rate": 1.5}, {"buffer_size": 0}, {"exporter": "kafka"}, {"service": " "}):
        with pytest.raises(ValueError):
            TelemetryConfig(**bad)
    with pytest.raises(ValueError):
        TelemetryClient(TelemetryConfig(tags={"x": math.nan}), exporter=MemoryExporter())


def test_concurrent_recording_conserves_counts() -> None:
    exporter = MemoryExporter()
    telemetry = TelemetryClient(
        TelemetryConfig(sample_rate=0.5, buffer_size=256, flush_interval_ms=1),
        exporter=exporter,
        rng=random.Random(3),
    )
    threads, per_thread = 8, 2_000

    def work(t: int) -> None:
        for i in range(per_thread):
            match i % 3:
                case 0:
                    telemetry.counter("hits", tags={"id": f"{t}-{i}"})
                case 1:
                    telemetry.event("click", {"id": f"{t}-{i}"})
                case _:
                    telemetry.log("info", f"{t}-{i}")

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    telemetry.close()
    stats = telemetry.stats()
    assert stats.recorded == threads * per_thread
    assert stats.recorded == stats.exported + stats.dropped + stats.sampled_out
    assert stats.failed == stats.buffered == 0
    assert stats.exported == exporter.total()
    lines = [line for kind in exporter.lines.values() for line in kind]
    assert len(set(lines)) == len(lines)  # nothing exported twice


# -- console and landing exporters -----------------------------------------------------------


def test_console_exporter_prints_kind_and_record() -> None:
    stream = io.StringIO()
    assert ConsoleExporter(stream).export("logs", [b'{"a":1}', b'{"b":2}']) == 2
    assert stream.getvalue() == 'logs {"a":1}\nlogs {"b":2}\n'


def landing_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file())


def check_contract(path: Path) -> int:
    """Check a landing file's name and every line against DESIGN §4; return the line count."""
    name = path.name
    fmt = classify(name)
    assert fmt is not None and fmt[0] in (FileFormat.EVENTS, FileFormat.METRICS, FileFormat.LOGS)
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").split("\n")[:-1]
    for line in lines:
        record = json.loads(line)
        if name.startswith("events-"):
            assert record.keys() == {"schema_version", "channel", "event", "timestamp", "payload"}
            assert record["schema_version"] == "telemetry_event_v1"
            assert isinstance(record["channel"], str) and record["channel"].strip()
            assert isinstance(record["event"], str) and record["event"].strip()
            assert isinstance(record["payload"], dict)
            latency = record["payload"].get("latency_ms")
            assert latency is None or (type(latency) in (int, float) and latency >= 0)
            ts = record["timestamp"]
        elif name.startswith("metrics-"):
            assert record.keys() <= {"timestamp", "service", "metric_type", "value", "tags"}
            assert isinstance(record["service"], str) and record["service"]
            assert isinstance(record["metric_type"], str) and record["metric_type"].strip()
            assert type(record["value"]) in (int, float) and math.isfinite(record["value"])
            assert isinstance(record.get("tags", {}), dict)
            ts = record["timestamp"]
        else:
            assert record.keys() <= {"ts", "service", "level", "message", "context"}
            for key in ("ts", "service", "level", "message"):
                assert isinstance(record[key], str)
            assert record["level"].strip() and isinstance(record.get("context", {}), dict)
            ts = record["ts"]
        assert TIMESTAMP.fullmatch(ts), ts
        hour = re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", name)
        assert hour is not None and ts[:13] <= hour.group()  # written at or after the event hour
    return len(lines)


def test_landing_exporter_names_and_lines_follow_the_contract(tmp_path: Path) -> None:
    telemetry = TelemetryClient(
        TelemetryConfig(exporter="landing", landing_dir=str(tmp_path), flush_interval_ms=NEVER_MS)
    )
    telemetry.counter("requests", tags={"route": "/x"})
    telemetry.gauge("queue", 3.5)
    telemetry.histogram("latency", 12)
    telemetry.event("feature_used", {"user_id": "u1", "latency_ms": 0})
    telemetry.log("critical", "disk full", {"disk": "/"})
    with telemetry.span("work"):
        telemetry.log("debug", "inside")
    telemetry.flush()
    # Flushed and fsync'd, but still growing: only hidden names, which the pipeline ignores.
    assert all(p.name.startswith(".") for p in landing_files(tmp_path))
    telemetry.close()
    files = landing_files(tmp_path)
    assert [p.name.split("-")[0] for p in files] == ["events", "logs", "metrics"]
    assert sum(check_contract(p) for p in files) == 7


def test_landing_exporter_rolls_on_hour_size_and_age(tmp_path: Path) -> None:
    clock = [dt.datetime(2026, 3, 1, 9, 59, 59, tzinfo=dt.UTC)]
    exporter = LandingFileExporter(
        tmp_path, max_bytes=100, max_age_s=3600, writer_id="w1", now=lambda: clock[0]
    )
    line = b'{"timestamp":"2026-03-01T09:59:59Z","service":"s","metric_type":"m","value":1}'
    assert exporter.export("metrics", [line]) == 1  # 80 bytes: stays open
    assert [p.name for p in landing_files(tmp_path)] == [".metrics-2026-03-01T09-w1-0001.jsonl"]
    clock[0] += dt.timedelta(seconds=2)
    exporter.export("metrics", [line])  # a new hour rolls the old file first
    assert [p.name for p in landing_files(tmp_path)] == [
        ".metrics-2026-03-01T10-w1-0002.jsonl",
        "metrics-2026-03-01T09-w1-0001.jsonl",
    ]
    exporter.export("metrics", [line])  # 160 bytes >= max_bytes: rolled after the write
    assert [p.name for p in landing_files(tmp_path)][-1] == "metrics-2026-03-01T10-w1-0002.jsonl"
    aged = LandingFileExporter(tmp_path / "aged", max_age_s=0, writer_id="w2")
    aged.export(
        "logs", [b'{"ts":"2026-03-01T10:00:00Z","service":"s","level":"INFO","message":"m"}']
    )
    aged.tick()
    assert [p.name[:5] for p in landing_files(tmp_path / "aged")] == ["logs-"]
    assert sum(check_contract(p) for p in landing_files(tmp_path) if p.suffix == ".jsonl") == 3


def test_landing_exporter_cuts_a_failed_write_back_to_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = LandingFileExporter(tmp_path, writer_id="w")
    line = b'{"ts":"2026-03-01T10:00:00Z","service":"s","level":"INFO","message":"m"}'
    assert exporter.export("logs", [line]) == 1
    real_write = landing_export._write_all

    def disk_full_halfway(fd: int, data: bytes) -> None:
        real_write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(landing_export, "_write_all", disk_full_halfway)
    assert exporter.export("logs", [line, line]) == 0
    monkeypatch.undo()
    assert exporter.export("logs", [line]) == 1
    exporter.close()
    [landed] = landing_files(tmp_path)
    assert landed.read_bytes() == (line + b"\n") * 2


def test_an_exporter_that_raises_counts_failed_and_the_thread_goes_on() -> None:
    class Broken(MemoryExporter):
        def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
            if kind == "events":
                raise RuntimeError("exporter bug")
            return super().export(kind, lines)

    exporter = Broken()
    telemetry = client(exporter, flush_interval_ms=5)
    telemetry.event("lost")
    telemetry.gauge("kept", 1)
    telemetry.flush()
    telemetry.gauge("kept", 2)
    telemetry.close()
    stats = telemetry.stats()
    assert (stats.exported, stats.failed) == (2, 1) and conserved(telemetry)


EXIT_SCRIPT = """
import sys
from telemetry_assets.sdk import TelemetryClient, TelemetryConfig
telemetry = TelemetryClient(TelemetryConfig(
    exporter="landing", landing_dir=sys.argv[1], flush_interval_ms=3_600_000, buffer_size=10_000))
for i in range(1000):
    telemetry.counter("hits", tags={"i": i})
    telemetry.event("click", {"i": i})
    telemetry.log("info", f"line {i}")
print(telemetry.stats().buffered)
"""


def test_interpreter_exit_flushes_everything_buffered(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    )
    assert done.stdout.strip() == "3000"  # all buffered at exit, none flushed before
    files = landing_files(tmp_path)
    assert not [p for p in files if p.name.startswith(".")]
    assert sum(check_contract(p) for p in files) == 3000


def test_sdk_imports_only_the_standard_library() -> None:
    probe = (
        "import sys; before = set(sys.modules); import telemetry_assets.sdk.example; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    ).stdout.split()
    ours = {"telemetry_assets", "telemetry_assets.sdk"}
    foreign = [
        m
        for m in out
        if m.split(".")[0] not in sys.stdlib_module_names
        and m not in ours
        and not m.startswith("telemetry_assets.sdk.")
    ]
    assert foreign == []


def test_example_writes_every_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert example_main(["--landing", str(tmp_path)]) == 0
    files = landing_files(tmp_path)
    assert sorted(p.name.split("-")[0] for p in files) == ["events", "logs", "metrics"]
    assert sum(check_contract(p) for p in files) > 0
    assert "failed=0" in capsys.readouterr().out


# -- HTTP exporter against a real local server ------------------------------------------------


class Collector:
    """A loopback HTTP server answering the scripted statuses first, then 202."""

    def __init__(self, statuses: Sequence[int] = (), retry_after: str | None = None) -> None:
        self.statuses = list(statuses)
        self.retry_after = retry_after
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.requests.append((self.path, dict(self.headers), body))
                status = collector.statuses.pop(0) if collector.statuses else 202
                self.send_response(status)
                if collector.retry_after is not None and status == 429:
                    self.send_header("Retry-After", collector.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector_factory() -> Iterator:
    started: list[Collector] = []

    def start(statuses: Sequence[int] = (), retry_after: str | None = None) -> Collector:
        started.append(Collector(statuses, retry_after))
        return started[-1]

    yield start
    for c in started:
        c.stop()


def http_exporter(url: str, sleeps: list[float], **kwargs) -> HttpExporter:
    kwargs.setdefault("backoff_base_s", 0.01)
    return HttpExporter(url, rng=random.Random(1), sleep=sleeps.append, timeout_s=5, **kwargs)


def test_http_retries_503_with_the_same_bytes_until_accepted(collector_factory) -> None:
    server = collector_factory([503, 503, 503])
    sleeps: list[float] = []
    telemetry = TelemetryClient(
        TelemetryConfig(flush_interval_ms=NEVER_MS),
        exporter=http_exporter(server.url, sleeps, token="s3cret", max_attempts=5),
    )
    for i in range(50):
        telemetry.gauge("depth", i)
    telemetry.close()
    assert len(server.requests) == 4
    bodies = {body for _, _, body in server.requests}
    assert len(bodies) == 1  # every retry re-sent the identical bytes
    path, headers, body = server.requests[-1]
    assert path == "/ingest/metrics"
    assert headers["Content-Type"] == "application/x-ndjson"
    assert headers["Authorization"] == "Bearer s3cret"
    assert [json.loads(line)["value"] for line in body.splitlines()] == list(range(50))
    stats = telemetry.stats()
    assert (stats.exported, stats.failed) == (50, 0)
    # Exponential ceilings 0.01, 0.02, 0.04 with equal jitter: each delay in [ceiling/2, ceiling].
    for delay, ceiling in zip(sleeps, (0.01, 0.02, 0.04), strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_http_400_is_not_retried_and_counts_as_failed(
    collector_factory, caplog: pytest.LogCaptureFixture
) -> None:
    server = collector_factory([400])
    sleeps: list[float] = []
    telemetry = TelemetryClient(
        TelemetryConfig(flush_interval_ms=NEVER_MS), exporter=http_exporter(server.url, sleeps)
    )
    for i in range(5):
        telemetry.log("error", f"m{i}")
    telemetry.close()
    assert len(server.requests) == 1 and server.requests[0][0] == "/ingest/logs"
    assert sleeps == []
    stats = telemetry.stats()
    assert (stats.exported, stats.failed) == (0, 5) and conserved(telemetry)
    assert "HTTP 400" in caplog.text


def test_http_429_honours_retry_after(collector_factory) -> None:
    server = collector_factory([429], retry_after="2")
    sleeps: list[float] = []
    exporter = http_exporter(server.url, sleeps, backoff_max_s=5)
    assert exporter.export("events", [b'{"x":1}']) == 1
    assert sleeps == [2.0] and len(server.requests) == 2


def test_http_gives_up_after_max_attempts_without_a_server(collector_factory) -> None:
    server = collector_factory()
    url = server.url
    server.stop()  # nothing listens on the port any more: connection refused
    sleeps: list[float] = []
    exporter = http_exporter(url, sleeps, max_attempts=3)
    assert exporter.export("events", [b'{"x":1}']) == 0
    assert len(sleeps) == 2


def test_http_splits_large_batches_below_the_body_limit(collector_factory) -> None:
    server = collector_factory()
    lines = [json.dumps({"i": i, "pad": "x" * 50}).encode() for i in range(100)]
    exporter = http_exporter(server.url, [], max_body_bytes=1000)
    assert exporter.export("events", lines) == 100
    assert len(server.requests) > 1
    assert all(len(body) <= 1000 for _, _, body in server.requests)
    assert b"".join(body for _, _, body in server.requests).splitlines() == lines
