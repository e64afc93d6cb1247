"""Loghub-2k benchmark of the log template miner (`make bench-logs`).

Each system's raw log is cut into header fields and Content with the system's header layout,
the product's miner (one configuration for all systems, generic masking only) groups the
Content of all 2,000 lines, and the grouping is scored against the corrected labels with the
grouping accuracy of Zhu et al. (ICSE-SEIP 2019). Predictions are written as
`<out>/<System>.csv` with `LineId,GroupId,EventTemplate` so an independent scorer can check them.

Data: Loghub (https://github.com/logpai/loghub), free for research or academic work; any use
must link that repository and cite the Loghub paper (Zhu et al., ISSRE 2023; see the data
pack's LICENSE and CITATION). The data stays outside this repository.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from telemetry_assets.devtools.grouping_accuracy import grouping_accuracy
from telemetry_assets.devtools.loghub_formats import LOG_FORMATS, split_line
from telemetry_assets.observability.log_templates import mine_messages


@dataclass(frozen=True)
class SystemScore:
    system: str
    lines: int
    predicted_groups: int
    truth_groups: int
    accuracy: float
    seconds: float


def read_raw_lines(path: Path) -> list[str]:
    """LineId is the 1-based physical line; CRLF files and a missing final newline occur."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_truth(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["EventTemplate"] for row in csv.DictReader(handle)]


def write_prediction(path: Path, group_ids: list[str], templates: dict[str, str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["LineId", "GroupId", "EventTemplate"])
        for line_id, group_id in enumerate(group_ids, start=1):
            writer.writerow([line_id, group_id, templates[group_id]])


def bench_system(data: Path, out: Path, system: str) -> SystemScore:
    folder = data / system
    started = time.perf_counter()
    lines = read_raw_lines(folder / f"{system}_2k.log")
    contents = [split_line(LOG_FORMATS[system], line)["Content"] for line in lines]
    group_ids, templates, _ = mine_messages(contents)
    seconds = time.perf_counter() - started
    write_prediction(out / f"{system}.csv", group_ids, templates)
    truth = read_truth(folder / f"{system}_2k.log_structured_corrected.csv")
    return SystemScore(
        system=system,
        lines=len(lines),
        predicted_groups=len(templates),
        truth_groups=len(set(truth)),
        accuracy=grouping_accuracy(group_ids, truth),
        seconds=seconds,
    )


def _print_table(scores: list[SystemScore], total_seconds: float) -> None:
    print(f"{'system':<12} {'lines':>5} {'groups':>6} {'truth':>5} {'GA':>6} {'mine s':>7}")
    for score in scores:
        print(
            f"{score.system:<12} {score.lines:>5} {score.predicted_groups:>6} "
            f"{score.truth_groups:>5} {score.accuracy:>6.3f} {score.seconds:>7.2f}"
        )
    average = sum(score.accuracy for score in scores) / len(scores)
    print(f"{'average':<12} {'':>5} {'':>6} {'':>5} {average:>6.3f} {total_seconds:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the loghub2k folder")
    parser.add_argument("--out", type=Path, required=True, help="where <System>.csv go")
    args = parser.parse_args(argv)
    missing = [system for system in LOG_FORMATS if not (args.data / system).is_dir()]
    if missing:
        print(f"missing systems under {args.data}: {', '.join(missing)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    scores = [bench_system(args.data, args.out, system) for system in LOG_FORMATS]
    _print_table(scores, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
