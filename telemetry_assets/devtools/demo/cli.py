"""The `telemetry-demo-data` command: arguments, writing the manifest, and a one-line summary.

Usage: `telemetry-demo-data --landing DIR --start 2025-03-01 --days 7 [--manifest PATH]`, or
`python -m telemetry_assets.devtools.demo` with the same arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from .landing import generate_landing
from .manifest import DemoManifest


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2025-03-01, got {text!r}") from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="telemetry-demo-data",
        description="Write realistic demo landing files (every landing-contract case included) "
        "and the per-day counts the pipeline must produce from them.",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing folder to fill")
    parser.add_argument("--start", type=_iso_date, required=True, help="first file day")
    parser.add_argument("--days", type=_positive_int, default=7, help="consecutive days")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same files")
    parser.add_argument(
        "--events-per-hour",
        type=_positive_int,
        default=200,
        help="records per hourly events file (the daily CSV gets twice as many)",
    )
    parser.add_argument(
        "--manifest", type=Path, help="also write the known answer as JSON (outside the landing)"
    )
    args = parser.parse_args(argv)
    if args.manifest and args.manifest.resolve().is_relative_to(args.landing.resolve()):
        parser.error("--manifest must not be inside the landing folder")
    return args


def _summary(landing: Path, start: dt.date, days: int, manifest: DemoManifest) -> str:
    total = manifest.total()
    last = start + dt.timedelta(days=days - 1)
    return (
        f"wrote {len(manifest.files)} files for {start}..{last} to {landing}: "
        f"{total.records_read} records = {total.valid} valid + "
        f"{total.duplicates_removed} duplicates + {total.quarantined} quarantined"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        manifest = generate_landing(
            args.landing, args.start, args.days, args.seed, args.events_per_hour
        )
    except FileExistsError as error:
        print(f"telemetry-demo-data: {error}", file=sys.stderr)
        return 1
    if args.manifest:
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        args.manifest.write_text(manifest.to_json() + "\n", encoding="utf-8")
    print(_summary(args.landing, args.start, args.days, manifest))
    return 0
