"""WS /ws/metrics: subscribers get the accepted samples they asked for; laggards are dropped."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from telemetry_assets.devtools.api_process import Service

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service

QUEUE = 4


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-ws")
    service = Service(root / "landing", root / "warehouse", TELEMETRY_API_WS_QUEUE=str(QUEUE))
    yield service.start()
    service.stop()


def sample(service_name: str, metric: str, value: float, **extra) -> dict:
    at = dt.datetime.now(dt.UTC).isoformat()
    return {
        "timestamp": at,
        "service": service_name,
        "metric_type": metric,
        "value": value,
        **extra,
    }


def ws_url(service: Service, query: str = "") -> str:
    return service.url.replace("http", "ws") + "/ws/metrics" + query


def test_subscriber_receives_accepted_samples_matching_its_filter(service):
    with (
        connect(ws_url(service, "?service=web&metric=cpu"), open_timeout=10) as socket,
        service.client() as client,
    ):
        records = [
            sample("web", "cpu", 1),
            sample("web", "memory", 2),
            sample("db", "cpu", 3),
            sample("web", "cpu", "not a number"),  # rejected by the gate: never streamed
            sample("web", "cpu", 4),
        ]
        assert client.post("/ingest/metrics", json=records).status_code == 202
        message = orjson.loads(socket.recv(timeout=10))
        assert [(s["service"], s["metric"], s["value"]) for s in message["samples"]] == [
            ("web", "cpu", 1.0),
            ("web", "cpu", 4.0),
        ]


def dropped(client) -> float:
    families = text_string_to_metric_families(client.get("/metrics").text)
    family = next(f for f in families if f.name == "telemetry_api_ws_dropped_clients")
    return next(s.value for s in family.samples if s.name.endswith("_total"))


def small_window(service: Service) -> socket.socket:
    """A connection whose tiny receive buffer fills after a few messages it does not read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", service.port))
    return sock


def test_a_slow_subscriber_is_dropped_and_never_slows_ingest(service):
    # Big incompressible messages (the stream is deflated) fill the buffers of a client that
    # does not read within a few requests.
    batch = [sample("bulk", os.urandom(2_000).hex(), n) for n in range(200)]
    with (
        connect(
            ws_url(service),
            open_timeout=10,
            max_queue=1,
            ping_interval=None,
            sock=small_window(service),
        ) as slow,
        connect(ws_url(service, "?service=none"), open_timeout=10) as idle,
        service.client() as client,
    ):
        before, slowest = dropped(client), 0.0
        for _ in range(300):
            started = time.perf_counter()
            assert client.post("/ingest/metrics", json=batch).status_code == 202
            slowest = max(slowest, time.perf_counter() - started)
            if dropped(client) > before:
                break
        assert dropped(client) == before + 1
        assert slowest < 5
        with pytest.raises(ConnectionClosed):
            for _ in range(10_000):
                slow.recv(timeout=10)
        assert slow.close_code == 1013
        idle.ping().wait(10)  # a subscriber that was not behind stays connected
