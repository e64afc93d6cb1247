"""The scaled-out stack on loopback (DESIGN.md §9): install, up, down, status, preflight.

    python deploy/stack.py install     # Debian postgresql, redis-server + the `stack` extra
    python deploy/stack.py up          # start everything, wait until each answers (idempotent)
    python deploy/stack.py down        # stop everything by pid file, bounded waits (idempotent)
    python deploy/stack.py preflight   # only check Postgres, Redis and the S3 bucket
    python deploy/stack.py status

Servers (all on 127.0.0.1, non-default ports, data/pids/logs under data/stack/): PostgreSQL
(Dagster run/event/schedule storage), Redis (Celery broker and results), moto in server mode
(S3-compatible), dagster-daemon, dagster-webserver and two Celery workers, all with
DAGSTER_HOME=data/stack/dagster_home holding deploy/dagster.yaml. Every setting is an
environment variable (defaults in loopback_stack/settings.py); TELEMETRY_STACK_SERVERS lists
the servers this script runs itself (default all three: postgres redis s3) so an external one
can be used.
Bad configuration fails before any Dagster process starts, naming the variable to fix.
Run with the project's Python (the venv that has the `stack` extra). The code is in the
package deploy/loopback_stack/; this file is its command line.
"""

from __future__ import annotations

import argparse
import sys

from loopback_stack.install import install
from loopback_stack.lifecycle import down, status, up
from loopback_stack.preflight import preflight
from loopback_stack.settings import StackError, say


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "up", "down", "status", "preflight"])
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
        elif args.command == "up":
            try:
                up()
            except BaseException:
                say("start-up failed: stopping what was started")
                down()
                raise
        elif args.command == "down":
            down()
        elif args.command == "status":
            return status()
        else:
            preflight()
    except StackError as error:
        print(f"[stack] ERROR: {error}", file=sys.stderr, flush=True)
        return 2
    except Exception as error:  # configuration errors from the code location
        if type(error).__name__ == "ConfigurationError":
            print(f"[stack] ERROR: {error}", file=sys.stderr, flush=True)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
