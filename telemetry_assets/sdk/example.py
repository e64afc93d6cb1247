"""Emit a few records of every kind, to try the collector or a landing folder by hand.

python -m telemetry_assets.sdk.example --url http://127.0.0.1:8000 [--token T]
python -m telemetry_assets.sdk.example --landing data/landing
python -m telemetry_assets.sdk.example            # console
"""

from __future__ import annotations

import argparse
import logging
import random
import time

from . import TelemetryClient, TelemetryConfig


def _config(args: argparse.Namespace) -> TelemetryConfig:
    service = "sdk-example"
    tags: dict[str, str | int | float | bool] = {"env": "example"}
    if args.url:
        return TelemetryConfig(
            exporter="http", http_url=args.url, http_token=args.token, service=service, tags=tags
        )
    if args.landing:
        return TelemetryConfig(
            exporter="landing", landing_dir=args.landing, service=service, tags=tags
        )
    return TelemetryConfig(exporter="console", service=service, tags=tags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="collector base URL (HTTP exporter)")
    target.add_argument("--landing", metavar="DIR", help="landing folder (file exporter)")
    parser.add_argument("--token", help="bearer token for the collector")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    with TelemetryClient(_config(args)) as telemetry:
        for i in range(3):
            telemetry.counter("requests", 1, {"route": "/checkout"})
            telemetry.gauge("queue_depth", random.randint(0, 20))
            telemetry.histogram("latency", round(random.uniform(5, 50), 3), {"route": "/checkout"})
            telemetry.event("feature_used", {"user_id": f"u{i}", "feature_id": "checkout"})
            telemetry.log("info", f"handled request {i}", {"route": "/checkout"})
            with telemetry.span("handle_request", {"route": "/checkout"}) as request:
                request.set_attribute("attempt", 1)
                with telemetry.span("db.query"):
                    time.sleep(0.01)
        telemetry.event("payment_failed", {"user_id": "u1"}, severity="error")
        telemetry.log("warning", "slow downstream", {"dependency": "payments"})
    stats = telemetry.stats()
    print(
        f"recorded={stats.recorded} exported={stats.exported} failed={stats.failed} "
        f"dropped={stats.dropped} sampled_out={stats.sampled_out}"
    )
    return 0 if stats.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
