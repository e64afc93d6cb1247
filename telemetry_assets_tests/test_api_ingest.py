"""Ingest routes of the real service: receipts, request faults, landing names, /metrics, /docs."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from telemetry_assets.devtools.api_process import REPO, Service, wait_until
from telemetry_assets.landing.files import FileFormat, classify

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service

MAX_BODY = 65_536
MAX_RECORDS = 100
JSON = "application/json"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    (root / "landing").mkdir()
    service = Service(
        root / "landing",
        root / "warehouse",
        TELEMETRY_API_MAX_BODY_BYTES=str(MAX_BODY),
        TELEMETRY_API_MAX_RECORDS=str(MAX_RECORDS),
        TELEMETRY_API_ROLL_SECONDS="3",
    ).start()
    yield service
    service.stop()


@pytest.fixture
def client(service):
    with service.client() as client:
        yield client


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def v1(**fields) -> dict:
    record = {
        "schema_version": "telemetry_event_v1",
        "channel": "user",
        "event": "click",
        "timestamp": now(),
        "payload": {"user_id": "u1"},
    }
    record.update(fields)
    return record


def landed_bytes(service: Service) -> int:
    return sum(p.stat().st_size for p in service.landed())


def post(client, route: str, records: list, ndjson: bool = False):
    if ndjson:
        body = b"".join(orjson.dumps(r) + b"\n" for r in records)
        return client.post(route, content=body, headers={"content-type": "application/x-ndjson"})
    return client.post(route, json=records)


def test_receipt_lists_the_reason_the_gate_gives_each_record(client):
    records = [
        v1(),
        {k: v for k, v in v1().items() if k != "payload"},
        v1(channel=42),
        v1(schema_version="telemetry_event_v2"),
        v1(event="  "),
        v1(timestamp="2025-02-30T00:00:00Z"),
        v1(timestamp="2099-01-01T00:00:00Z"),
        v1(timestamp="2025-01-02T00:00:00Z"),
        v1(payload={"latency_ms": -1}),
        v1(payload={"latency_ms": "fast"}),
        "not an object",
    ]
    response = post(client, "/ingest/events", records)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["received"] == len(records)
    assert body["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (1, "missing_field"),
        (2, "wrong_type"),
        (3, "unknown_schema_version"),
        (4, "empty_event"),
        (5, "invalid_timestamp"),
        (6, "future_timestamp"),
        (7, "too_late"),
        (8, "negative_latency"),
        (9, "invalid_latency"),
        (10, "invalid_json"),
    ]


def test_array_and_ndjson_bodies_land_the_same_lines(service, client):
    records = [v1(event="same-lines", payload={"n": n}) for n in range(3)]
    files = [post(client, "/ingest/events", records, ndjson=flag).json()["file"] for flag in (0, 1)]
    assert files[0] == files[1]

    def lines() -> list[bytes]:
        for path in (service.landing / files[0], service.landing / f".{files[0]}"):
            if path.exists():
                return [ln for ln in path.read_bytes().splitlines() if b"same-lines" in ln]
        return []

    assert lines() == [orjson.dumps(r) for r in records] * 2


def test_telemetryhub_samples_land_as_format_c(service, client):
    hub = {"service": "hub-svc", "metric": "cpu", "value": 0.5, "ts": now(), "labels": {"h": "a"}}
    native = {"timestamp": now(), "service": "hub-svc", "metric_type": "memory", "value": 7}
    response = post(client, "/ingest/metrics", [hub, native, {"service": "hub-svc", "metric": "x"}])
    assert response.status_code == 202
    assert [r["reason"] for r in response.json()["rejected"]] == ["missing_field"]
    rows = client.get("/query/metrics", params={"service": "hub-svc"}).json()["rows"]
    assert sorted((r["metric"], r["value"]) for r in rows) == [("cpu", 0.5), ("memory", 7.0)]


def test_logs_land_as_format_d_with_the_gate_verdicts(service, client):
    records = [
        {"ts": now(), "service": "log-svc", "level": "warn", "message": "disk"},
        {"ts": now(), "service": "log-svc", "level": " ", "message": "x"},
        {"ts": now(), "service": "log-svc", "message": "no level"},
        {"ts": now(), "service": "log-svc", "level": "info", "message": "m", "context": [1]},
    ]
    body = post(client, "/ingest/logs", records).json()
    assert body["received"] == 4 and body["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (1, "empty_event"),
        (2, "missing_field"),
        (3, "wrong_type"),
    ]
    assert classify(body["file"]) == (FileFormat.LOGS, dt.datetime.now(dt.UTC).date(), False)
    for level in ("warning", "warn", "WARN"):
        logs = client.get("/query/logs", params={"service": "log-svc", "level": level}).json()
        assert [(r["level"], r["message"]) for r in logs["rows"]] == [("WARNING", "disk")]


def test_live_queries_see_accepted_records(client):
    log = v1(channel="log", event="WARNING", payload={"service": "live-svc", "message": "slow"})
    sample = {"timestamp": now(), "service": "live-svc", "metric_type": "latency", "value": 12.5}
    assert post(client, "/ingest/events", [log]).status_code == 202
    assert post(client, "/ingest/metrics", [sample]).status_code == 202
    logs = client.get("/query/logs", params={"service": "live-svc", "level": "warning"}).json()
    assert [(r["level"], r["message"]) for r in logs["rows"]] == [("WARNING", "slow")]
    metrics = client.get("/query/metrics", params={"metric": "latency", "service": "live-svc"})
    assert [r["value"] for r in metrics.json()["rows"]] == [12.5]
    assert "live-svc" in client.get("/services").json()["services"]
    assert client.get("/alerts").json() == {"rows": []}
    assert client.get("/anomalies").json() == {"rows": []}


FAULTS = {
    "wrong content type": (
        {"content": b"[]", "headers": {"content-type": "text/plain"}},
        415,
        "unsupported_media_type",
    ),
    "no content type": ({"content": b"[]"}, 415, "unsupported_media_type"),
    "not JSON": (
        {"content": b"[{}, {", "headers": {"content-type": "application/json"}},
        400,
        "invalid_body",
    ),
    "NaN is not JSON": (
        {"content": b"[NaN]", "headers": {"content-type": "application/json"}},
        400,
        "invalid_body",
    ),
    "a scalar body": (
        {"content": b"42", "headers": {"content-type": "application/json"}},
        400,
        "invalid_body",
    ),
    "bad NDJSON line": (
        {"content": b'{"a":1}\n{"a":\n', "headers": {"content-type": "application/x-ndjson"}},
        400,
        "invalid_body",
    ),
    "body too large": (
        {
            "content": b"[" + b"1," * MAX_BODY + b"1]",
            "headers": {"content-type": "application/json"},
        },
        413,
        "body_too_large",
    ),
    "too many records": (
        {"json": [{}] * (MAX_RECORDS + 1)},
        413,
        "too_many_records",
    ),
}


@pytest.mark.parametrize("route", ["/ingest/events", "/ingest/metrics", "/ingest/logs"])
@pytest.mark.parametrize("fault", FAULTS)
def test_request_faults_are_refused_in_one_shape_and_write_nothing(service, client, route, fault):
    request, status, code = FAULTS[fault]
    before = landed_bytes(service)
    response = client.post(route, **request)
    assert response.status_code == status
    assert response.json().keys() == {"error"}
    assert response.json()["error"].keys() == {"code", "message"}
    assert response.json()["error"]["code"] == code
    assert landed_bytes(service) == before


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 10_001}, 422),
        ({"since": "yesterday"}, 422),
        ({"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"}, 400),
    ],
)
@pytest.mark.parametrize("route", ["/query/metrics", "/query/logs", "/alerts", "/anomalies"])
def test_query_parameters_are_validated_in_the_same_shape(client, route, params, status):
    response = client.get(route, params=params)
    assert response.status_code == status
    assert response.json()["error"].keys() == {"code", "message"}


def test_landing_files_are_hidden_while_open_and_named_per_contract(service, client):
    files = {}
    for route, kind, record in [
        ("/ingest/events", FileFormat.EVENTS, v1()),
        ("/ingest/metrics", FileFormat.METRICS, {"timestamp": now(), "service": "s"}),
    ]:
        files[kind] = post(client, route, [record]).json()["file"]
    for kind, name in files.items():
        assert classify(name) == (kind, dt.datetime.now(dt.UTC).date(), False)
        assert (service.landing / f".{name}").exists() or (service.landing / name).exists()
    for name in files.values():
        assert wait_until(lambda name=name: (service.landing / name).exists(), 20)
        assert not (service.landing / f".{name}").exists()


def test_concurrent_requests_share_one_fsync(service, client):
    def fsyncs() -> float:
        families = text_string_to_metric_families(client.get("/metrics").text)
        family = next(f for f in families if f.name == "telemetry_api_fsync_seconds")
        return next(s.value for s in family.samples if s.name.endswith("_count"))

    before, posts, failures = fsyncs(), 8 * 5, []

    def worker() -> None:
        with service.client() as own:
            for _ in range(5):
                if post(own, "/ingest/events", [v1()] * 20).status_code != 202:
                    failures.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    assert fsyncs() - before < posts


def test_metrics_exposition_parses_and_carries_every_family(client):
    post(client, "/ingest/events", [v1()])
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert {
        "telemetry_api_requests",
        "telemetry_api_request_seconds",
        "telemetry_api_records",
        "telemetry_api_fsync_seconds",
        "telemetry_api_landing_bytes",
        "telemetry_api_ws_clients",
        "telemetry_ingest_records",
    } <= families.keys()
    outcomes = {s.labels["outcome"] for s in families["telemetry_ingest_records"].samples}
    assert outcomes == {"valid", "duplicates_removed", "quarantined"}
    records = families["telemetry_api_records"].samples
    assert any(s.labels == {"format": "events", "outcome": "valid"} and s.value for s in records)


def test_docs_and_openapi_load(client):
    assert "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/ingest/events", "/ingest/metrics", "/ingest/logs", "/query/metrics"} <= set(paths)


def test_heartbeat(client):
    assert client.get("/").json()["status"] == "ok"


def test_unknown_route_uses_the_error_shape(client):
    assert client.get("/nope").json()["error"]["code"] == "not_found"


def test_a_chunked_body_is_cut_off_at_the_limit_and_writes_nothing(service, client):
    before = landed_bytes(service)
    chunks = (b"[" + b"1," * 1_000 for _ in range(MAX_BODY // 1_000))  # no content-length
    response = client.post("/ingest/events", content=chunks, headers={"content-type": JSON})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert landed_bytes(service) == before


def test_bad_service_settings_stop_start_up_with_a_message(tmp_path):
    service = Service(tmp_path / "landing", tmp_path / "warehouse", TELEMETRY_API_ROLL_BYTES="1.5")
    done = subprocess.run(
        service.command(), cwd=REPO, env=service.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "TELEMETRY_API_ROLL_BYTES='1.5' must be a whole number > 0" in done.stderr
