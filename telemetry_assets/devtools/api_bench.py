"""`make bench-api`: the service's ingest throughput, latencies, query p95 and stream p99.

One run against a real service process on loopback with fresh temporary folders:
- ingest: CLIENTS threads post BATCH-record batches of valid events for a fixed time; acked
  events per second and request latency p50/p99 (a 202 means the batch is fsync'd);
- queries: `/query/metrics` and `/query/logs` over the live buffer, p95;
- stream: SUBSCRIBERS WebSocket clients; p99 from a metric post's start to each delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

from telemetry_assets.devtools.api_process import Service

JSON = {"content-type": "application/json"}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def event_bodies(batch: int, count: int) -> list[bytes]:
    """Distinct request bodies of valid format A events (built before the clock starts)."""
    at = dt.datetime.now(dt.UTC).isoformat()
    return [
        orjson.dumps(
            [
                {
                    "schema_version": "telemetry_event_v1",
                    "channel": "user",
                    "event": "feature_used",
                    "timestamp": at,
                    "payload": {"user_id": f"u{n % 977}", "feature_id": "f1", "seq": body * n},
                }
                for n in range(batch)
            ]
        )
        for body in range(count)
    ]


def ingest(url: str, clients: int, batch: int, seconds: float) -> dict[str, float]:
    bodies = event_bodies(batch, 16)
    latencies: list[float] = []
    acked = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            n = offset
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = http.post(
                    "/ingest/events", content=bodies[n % len(bodies)], headers=JSON
                )
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed)
                    acked[0] += response.json()["accepted"]
                n += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "events_per_second": acked[0] / wall,
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def queries(url: str, rounds: int) -> dict[str, float]:
    """Fill the live buffer with samples and log records, then time the query routes."""
    at = dt.datetime.now(dt.UTC).isoformat()

    def sample(n: int, batch: int) -> dict:
        return {
            "timestamp": at,
            "service": f"svc{n % 20}",
            "metric_type": "cpu",
            "value": n + batch,
        }

    def log(n: int, batch: int) -> dict:
        return {
            "schema_version": "telemetry_event_v1",
            "channel": "log",
            "event": "WARNING",
            "timestamp": at,
            "payload": {"service": f"svc{n % 20}", "message": f"m{n}", "batch": batch},
        }

    timings: dict[str, list[float]] = {"/query/metrics": [], "/query/logs": []}
    with httpx.Client(base_url=url, timeout=60) as http:
        for batch in range(20):
            http.post("/ingest/metrics", json=[sample(n, batch) for n in range(5_000)])
            http.post("/ingest/events", json=[log(n, batch) for n in range(5_000)])
        for n in range(rounds):
            service = f"svc{n % 20}"
            routes: list[tuple[str, dict[str, str | int]]] = [
                ("/query/metrics", {"service": service, "metric": "cpu", "limit": 100}),
                ("/query/logs", {"service": service, "level": "warning", "limit": 100}),
            ]
            for route, params in routes:
                started = time.perf_counter()
                http.get(route, params=params).raise_for_status()
                timings[route].append(time.perf_counter() - started)
    return {f"{route} p95_ms": percentile(t, 0.95) * 1000 for route, t in timings.items()}


async def stream(url: str, subscribers: int, posts: int, batch: int) -> dict[str, float]:
    """Post start (wall clock, carried as the sample value) to delivery, per subscriber."""
    ws_url = url.replace("http", "ws") + "/ws/metrics?service=stream"
    delays: list[float] = []
    sockets = [await connect(ws_url, max_size=None) for _ in range(subscribers)]

    async def listen(socket) -> None:
        for _ in range(posts):
            message = orjson.loads(await asyncio.wait_for(socket.recv(), 60))
            delays.append(time.time() - message["samples"][0]["value"])

    listeners = [asyncio.create_task(listen(s)) for s in sockets]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(posts):
            at = dt.datetime.now(dt.UTC).isoformat()
            sent = time.time()
            body = [
                {"timestamp": at, "service": "stream", "metric_type": "cpu", "value": sent}
                for _ in range(batch)
            ]
            (await http.post("/ingest/metrics", json=body)).raise_for_status()
            await asyncio.sleep(0.05)
    await asyncio.gather(*listeners)
    for socket in sockets:
        await socket.close()
    return {
        "deliveries": len(delays),
        "p50_ms": percentile(delays, 0.5) * 1000,
        "p99_ms": percentile(delays, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--subscribers", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        root = Path(tmp)
        (root / "landing").mkdir()
        service = Service(root / "landing", root / "warehouse").start()
        try:
            results = {
                f"ingest ({args.clients} clients x {args.batch} events)": ingest(
                    service.url, args.clients, args.batch, args.seconds
                ),
                "queries (live buffers: 100k samples, 100k log records)": queries(service.url, 100),
                f"stream ({args.subscribers} subscribers)": asyncio.run(
                    stream(service.url, args.subscribers, 50, 10)
                ),
            }
        finally:
            service.stop()
    for section, figures in results.items():
        print(section)
        for name, value in figures.items():
            print(f"  {name:<24} {value:>12,.1f}")


if __name__ == "__main__":
    main()
