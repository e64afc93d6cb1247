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
    """Every data file on disk with its label windows, in a stable (sorted) order.

    Files come from the data folder rather than the labels, so a file missing from the labels
    is still run (and scored as having no windows) instead of silently skipped.
    """
    labels = json.loads((data_dir / "labels" / "combined_windows.json").read_text())
    return [
        _load_file(data_dir, path.relative_to(data_dir / "data").as_posix(), labels)
        for path in sorted((data_dir / "data").glob("*/*.csv"))
    ]


def _load_file(data_dir: Path, key: str, labels: dict[str, list[list[str]]]) -> NabFile:
    """Reads values as text too, so results repeat the file's rows exactly as written."""
    frame = pl.read_csv(
        data_dir / "data" / key, schema={"timestamp": pl.String, "value": pl.String}
    )
    timestamps = _parse_time(frame["timestamp"])
    edges = _parse_time(
        pl.Series([edge for span in labels.get(key, []) for edge in span], dtype=pl.String)
    )
    spans = list(zip(edges[0::2], edges[1::2], strict=True))
    return NabFile(
        key=key,
        timestamp_text=frame["timestamp"],
        value_text=frame["value"],
        timestamps=timestamps,
        values=frame["value"].cast(pl.Float64).to_numpy(),
        windows=nab_scoring.window_bounds(timestamps, spans),
    )


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


def category_scores(
    corpus: list[NabFile],
    scores: dict[str, np.ndarray],
    profile: nab_scoring.CostProfile,
    threshold: float,
) -> dict[str, tuple[float, int]]:
    """Raw score and window count per category at the corpus threshold, to see where points
    are lost (a category without windows can only lose points to false positives)."""
    result: dict[str, tuple[float, int]] = {}
    for f in corpus:
        events = nab_scoring.file_events(scores[f.key], f.windows, profile)
        raw = events.base + float(events.deltas[events.thresholds >= threshold].sum())
        category = f.key.split("/")[0]
        before, windows = result.get(category, (0.0, 0))
        result[category] = (before + raw, windows + events.windows)
    return result


def report(corpus: list[NabFile], scores: dict[str, np.ndarray], profiles_path: Path) -> list[str]:
    """Lines to print: each profile's normalised score and threshold, standard per category."""
    profiles = nab_scoring.load_profiles(profiles_path)
    results = nab_scoring.score_corpus([(scores[f.key], f.windows) for f in corpus], profiles)
    lines = []
    for profile, result in zip(profiles, results, strict=True):
        lines.append(
            f"{result.profile:20s} score {result.normalized:6.2f}  threshold {result.threshold:.6f}"
        )
        if profile.name != "standard":
            continue
        for category, (raw, windows) in category_scores(
            corpus, scores, profile, result.threshold
        ).items():
            shown = (
                f"{nab_scoring.normalize(raw, windows, profile):8.2f}"
                if windows
                else f"{raw:8.2f} raw (no windows)"
            )
            lines.append(f"    {category:22s} {shown}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="NAB data pack folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for result CSVs")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = load_corpus(args.data)
    loaded = time.perf_counter()
    scores = run_detector(corpus)
    detected = time.perf_counter()
    write_results(corpus, scores, args.out)
    lines = report(corpus, scores, args.data / "config" / "profiles.json")
    rows = sum(f.values.size for f in corpus)
    print(
        f"detector {MODEL_VERSION}: {len(corpus)} files, {rows} rows; load {loaded - started:.1f}"
        f" s, detection {detected - loaded:.1f} s, total {time.perf_counter() - started:.1f} s"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
