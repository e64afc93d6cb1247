"""Runs the production anomaly detector over the NAB corpus and scores it.

Kept out of the code location's imports: it is a developer tool. Each data file is fed to
`detect_series` exactly as the pipeline feeds an hourly series (one series, time order as given,
causal), results are written in NAB's hand-in format and then scored with `nab_scoring`.

    python -m telemetry_assets.devtools.nab_bench --data ../shared/benchmarks/nab \
        --out data/bench/nab
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from telemetry_assets.devtools import nab_scoring
from telemetry_assets.observability.anomaly_detection import MODEL_VERSION, detect_series


@dataclass(frozen=True)
class NabFile:
    """One data file: its key (`category/file.csv`), raw text columns and label windows."""

    key: str
    timestamp_text: pl.Series
    value_text: pl.Series
    timestamps: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]


def _parse_time(text: pl.Series) -> np.ndarray:
    """NAB writes naive timestamps with or without fractional seconds."""
    parsed = text.str.to_datetime(format=None, time_unit="us", strict=True)
    return parsed.to_numpy().astype("datetime64[us]")


def load_corpus(data_dir: Path) -> list[NabFile]:
    """Every data file with its label windows, in a stable (sorted) order."""
    labels = json.loads((data_dir / "labels" / "combined_windows.json").read_text())
    files = []
    for key in sorted(labels):
        frame = pl.read_csv(
            data_dir / "data" / key, schema={"timestamp": pl.String, "value": pl.String}
        )
        timestamps = _parse_time(frame["timestamp"])
        spans = [
            (
                np.datetime64(_parse_time(pl.Series([a]))[0]),
                np.datetime64(_parse_time(pl.Series([b]))[0]),
            )
            for a, b in labels[key]
        ]
        files.append(
            NabFile(
                key=key,
                timestamp_text=frame["timestamp"],
                value_text=frame["value"],
                timestamps=timestamps,
                values=frame["value"].cast(pl.Float64).to_numpy(),
                windows=nab_scoring.window_bounds(timestamps, spans),
            )
        )
    return files


def run_detector(corpus: list[NabFile]) -> dict[str, np.ndarray]:
    """Anomaly score of every row of every file, through the pipeline's code path."""
    return {f.key: detect_series(f.timestamps, f.values)["score"].to_numpy() for f in corpus}


def write_results(corpus: list[NabFile], scores: dict[str, np.ndarray], out_dir: Path) -> None:
    """One CSV per data file: the file's own rows and text, plus our score."""
    for f in corpus:
        path = out_dir / f.key
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(
            {
                "timestamp": f.timestamp_text,
                "value": f.value_text,
                "anomaly_score": scores[f.key],
            }
        ).write_csv(path)


def score(
    corpus: list[NabFile], scores: dict[str, np.ndarray], profiles_path: Path
) -> list[nab_scoring.ProfileResult]:
    """NAB scores of all three profiles, thresholds chosen over the corpus."""
    profiles = nab_scoring.load_profiles(profiles_path)
    return nab_scoring.score_corpus([(scores[f.key], f.windows) for f in corpus], profiles)


def category_scores(
    corpus: list[NabFile],
    scores: dict[str, np.ndarray],
    profile: nab_scoring.CostProfile,
    threshold: float,
) -> dict[str, float]:
    """Normalised score per category at the corpus threshold, to see where points are lost."""
    by_category: dict[str, list[nab_scoring.FileEvents]] = {}
    for f in corpus:
        events = nab_scoring.file_events(scores[f.key], f.windows, profile)
        by_category.setdefault(f.key.split("/")[0], []).append(events)
    result = {}
    for category, events in by_category.items():
        windows = sum(e.windows for e in events)
        raw = sum(e.base for e in events) + sum(
            float(e.deltas[e.thresholds >= threshold].sum()) for e in events
        )
        result[category] = nab_scoring.normalize(raw, windows, profile) if windows else raw
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="NAB data pack folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for result CSVs")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = load_corpus(args.data)
    scores = run_detector(corpus)
    detected = time.perf_counter()
    write_results(corpus, scores, args.out)
    results = score(corpus, scores, args.data / "config" / "profiles.json")
    rows = sum(f.values.size for f in corpus)
    print(
        f"detector {MODEL_VERSION}: {len(corpus)} files, {rows} rows, "
        f"detection {detected - started:.1f} s, total {time.perf_counter() - started:.1f} s"
    )
    profiles = {
        p.name: p for p in nab_scoring.load_profiles(args.data / "config" / "profiles.json")
    }
    for r in results:
        print(f"{r.profile:20s} score {r.normalized:6.2f}  threshold {r.threshold:.6f}")
        if r.profile == "standard":
            for category, value in category_scores(
                corpus, scores, profiles[r.profile], r.threshold
            ).items():
                print(f"    {category:22s} {value:8.2f}")


if __name__ == "__main__":
    main()
