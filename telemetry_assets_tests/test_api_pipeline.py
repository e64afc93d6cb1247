"""The service and the real pipeline together: verdicts agree, and 202 means durable.

Both run the ingest assets over what the service landed, so they are slow.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import dagster as dg
import httpx
import orjson
import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from telemetry_assets.devtools.api_process import Service, wait_until
from telemetry_assets.schemas.tables import EVENTS, QUARANTINE

# A real uvicorn process on a loopback port serves every test here.
pytestmark = pytest.mark.service

INGEST = dg.AssetSelection.assets("raw_events", "events", "quarantine", "ingest_stats")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def v1(timestamp: str, **fields) -> dict:
    record = {
        "schema_version": "telemetry_event_v1",
        "channel": "user",
        "event": "click",
        "timestamp": timestamp,
        "payload": {"user_id": "u1"},
    }
    return {**record, **fields}


@pytest.mark.slow
def test_receipt_reasons_equal_what_the_pipeline_quarantines(pipeline):
    at = dt.datetime.now(dt.UTC).isoformat()
    events = [
        v1(at),
        v1(at),  # a duplicate: valid, counted once by the pipeline
        {"schema_version": "telemetry_event_v1"},
        v1(at, event=""),
        v1("2025-02-30T00:00:00", payload={"latency_ms": 1}),
        v1(at, payload={"latency_ms": -5}),
        v1(at, payload={"latency_ms": True}),
        [1, 2],
    ]
    metrics = [
        {"timestamp": at, "service": "s", "metric_type": "cpu", "value": 1},
        {"service": "s", "metric": "cpu", "value": "x", "ts": at},
        {"service": "s", "metric": "", "value": 1, "ts": at},
        {"timestamp": at, "service": "s", "metric_type": "latency", "value": -1},
    ]
    pipeline.max_malformed_ratio = 1.0  # most of these records are bad on purpose
    service = Service(pipeline.landing, pipeline.warehouse).start()
    try:
        with service.client() as client:
            receipts = [
                client.post("/ingest/events", json=events).json(),
                client.post("/ingest/metrics", json=metrics).json(),
            ]
    finally:
        service.stop()
    assert pipeline.materialize(today().isoformat(), selection=INGEST).success
    quarantined = pipeline.table(QUARANTINE, today())
    for receipt in receipts:
        mine = quarantined.filter(pl.col("source_file") == receipt["file"])
        assert sorted(mine.select("source_line", "reason").rows()) == [
            (r["index"] + 1, r["reason"]) for r in receipt["rejected"]
        ]
    assert receipts[0]["accepted"] == 2 and receipts[1]["accepted"] == 1
    assert pipeline.table(EVENTS, today()).height == 1 + 1  # the two copies are one event


CLIENTS, BATCHES, BATCH = 4, 30, 50


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_event_and_resends_count_once(pipeline):
    """Clients post while the service is killed twice; what was not acknowledged is re-sent."""
    at = dt.datetime.now(dt.UTC).isoformat()
    service = Service(pipeline.landing, pipeline.warehouse, TELEMETRY_API_ROLL_SECONDS="0.5")
    service.start()
    acked: set[tuple[int, int]] = set()
    given_up: list[tuple[int, int]] = []
    resent: list[tuple[int, int]] = []

    def batch(client: int, number: int) -> list[dict]:
        return [v1(at, payload={"c": client, "b": number, "n": n}) for n in range(BATCH)]

    def post_all(client: int) -> None:
        with httpx.Client(base_url=service.url, timeout=10) as http:
            for number in range(BATCHES):
                for _ in range(600):  # bounded: ~60 s of retries per batch at most
                    try:
                        if (
                            http.post("/ingest/events", json=batch(client, number)).status_code
                            == 202
                        ):
                            acked.add((client, number))
                            break
                    except httpx.TransportError:  # the service died under this request
                        resent.append((client, number))
                    time.sleep(0.1)
                else:
                    given_up.append((client, number))

    threads = [threading.Thread(target=post_all, args=(c,)) for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        for kills in (1, 2):
            assert wait_until(lambda kills=kills: len(acked) >= kills * 25, 120)
            service.kill()
            time.sleep(0.3)
            service.start()
        for thread in threads:
            thread.join(300)
    finally:
        service.stop()
    assert not given_up and len(acked) == CLIENTS * BATCHES
    assert resent  # the clients saw the service die and had to re-send
    assert not [p for p in pipeline.landing.iterdir() if p.name.startswith(".")]

    assert pipeline.materialize(today().isoformat(), selection=INGEST).success
    events = pipeline.table(EVENTS, today())
    keys = [(p["c"], p["b"], p["n"]) for p in map(orjson.loads, events["payload"])]
    assert len(keys) == len(set(keys))  # re-sends and torn-then-resent batches count once
    expected = {(c, b, n) for c, b in acked for n in range(BATCH)}
    assert set(keys) == expected  # nothing acknowledged is missing, nothing else appears
    reasons = set(pipeline.table(QUARANTINE, today()).get_column("reason").to_list() or [])
    assert reasons <= {"truncated_line"}  # at most the cut-off last line of a killed write

    # The service's /metrics now carries the pipeline's ledger for what it landed.
    service = Service(pipeline.landing, pipeline.warehouse).start()
    try:
        with service.client() as client:
            text = client.get("/metrics").text
    finally:
        service.stop()
    ledger = next(
        f for f in text_string_to_metric_families(text) if f.name == "telemetry_ingest_records"
    )
    assert {s.labels["outcome"]: s.value for s in ledger.samples}["valid"] == len(expected)
