"""`python -m telemetry_assets.api --host 127.0.0.1 --port 8000`: run the service."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from telemetry_assets.api.app import create_app
from telemetry_assets.api.config import ServiceConfig
from telemetry_assets.api.pipeline import ConfigurationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telemetry_assets.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        config = ServiceConfig.from_env()
        config.check_bind(args.host)
    except ConfigurationError as error:
        print(f"telemetry api: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
