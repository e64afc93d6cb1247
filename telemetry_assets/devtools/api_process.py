"""A real `python -m telemetry_assets.api` process on a loopback port (tests, benchmark).

Every wait is bounded: a service that does not come up fails instead of hanging its caller.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, seconds: float, step: float = 0.05):
    """The condition's first truthy value, or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


class Service:
    def __init__(self, landing: Path, warehouse: Path, **env: str):
        self.landing, self.warehouse = landing, warehouse
        self.env = {
            **os.environ,
            "TELEMETRY_LANDING_DIR": str(landing),
            "TELEMETRY_WAREHOUSE_DIR": str(warehouse),
            "PYTHONPATH": str(REPO),
            **env,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = landing.parent / f"api-{self.port}.log"

    def command(self, host: str = "127.0.0.1") -> list[str]:
        return [
            sys.executable,
            "-m",
            "telemetry_assets.api",
            "--host",
            host,
            "--port",
            str(self.port),
        ]

    def start(self) -> Service:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        if not wait_until(self._up, START_SECONDS, 0.1):
            self.kill()
            raise RuntimeError(f"service did not start: {self.log.read_text()[-2000:]}")
        return self

    def _up(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"service exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(self.url + "/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """SIGTERM: uvicorn shuts down and the service rolls its open files into place."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)

    def landed(self) -> list[Path]:
        """Every file in the landing folder, hidden ones included."""
        return sorted(p for p in self.landing.iterdir() if p.is_file())
