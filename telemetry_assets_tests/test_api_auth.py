"""The bearer token: required off loopback, and on every route but the heartbeat once set."""

from __future__ import annotations

import subprocess

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from telemetry_assets.api.config import ServiceConfig
from telemetry_assets.api.pipeline import ConfigurationError
from telemetry_assets.devtools.api_process import REPO, Service

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service

TOKEN = "s3cret-token"


def test_non_loopback_bind_refuses_to_start_without_a_token(tmp_path):
    service = Service(tmp_path / "landing", tmp_path / "warehouse", TELEMETRY_API_TOKEN="")
    done = subprocess.run(
        service.command(host="0.0.0.0"),
        cwd=REPO,
        env=service.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TELEMETRY_API_TOKEN" in done.stderr
    assert not (tmp_path / "landing").exists()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-auth")
    service = Service(root / "landing", root / "warehouse", TELEMETRY_API_TOKEN=TOKEN).start()
    yield service
    service.stop()


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "/services"),
        ("GET", "/query/metrics"),
        ("GET", "/query/logs"),
        ("GET", "/alerts"),
        ("GET", "/anomalies"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("POST", "/ingest/events"),
        ("POST", "/ingest/metrics"),
        ("POST", "/ingest/logs"),
    ],
)
def test_every_route_but_the_heartbeat_needs_the_token(service, method, route):
    landed_before = sum(p.stat().st_size for p in service.landed())
    with service.client() as anonymous:
        assert anonymous.get("/").status_code == 200
        refused = anonymous.request(method, route, json=[{"x": 1}])
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    with service.client(authorization="Bearer wrong") as wrong:
        assert wrong.request(method, route, json=[{"x": 1}]).status_code == 401
    assert sum(p.stat().st_size for p in service.landed()) == landed_before
    with service.client(authorization=f"Bearer {TOKEN}") as client:
        expected = 202 if method == "POST" else 200
        assert client.request(method, route, json=[{"x": 1}]).status_code == expected


def test_websocket_needs_the_token(service):
    url = service.url.replace("http", "ws") + "/ws/metrics"
    with pytest.raises(InvalidStatus), connect(url, open_timeout=10):
        pass
    with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, open_timeout=10):
        pass


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_need_no_token(tmp_path, host):
    ServiceConfig(landing_dir=tmp_path).check_bind(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_other_addresses_need_a_token(tmp_path, host):
    with pytest.raises(ConfigurationError, match="TELEMETRY_API_TOKEN"):
        ServiceConfig(landing_dir=tmp_path).check_bind(host)
    ServiceConfig(landing_dir=tmp_path, token="t").check_bind(host)


def test_an_object_storage_landing_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("TELEMETRY_LANDING_DIR", "s3://telemetry/landing")
    with pytest.raises(ConfigurationError, match="TELEMETRY_LANDING_DIR=s3://telemetry/landing"):
        ServiceConfig.from_env()
