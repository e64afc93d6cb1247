"""Lets `python -m telemetry_assets.devtools.demo` run the same command as `telemetry-demo-data`."""

import sys

from .cli import main

sys.exit(main())
