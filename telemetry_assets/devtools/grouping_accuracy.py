"""Grouping accuracy of a log parser as defined by Zhu et al., "Tools and Benchmarks for
Automated Log Parsing" (ICSE-SEIP 2019): a line is parsed correctly only when the set of lines
in its predicted group is exactly the set of lines in its ground-truth group. A single wrong
merge therefore costs both groups entirely, which is why the metric punishes over-generalising
as hard as over-splitting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence


def _members(labels: Sequence[Hashable]) -> dict[Hashable, frozenset[int]]:
    groups: dict[Hashable, set[int]] = defaultdict(set)
    for line, label in enumerate(labels):
        groups[label].add(line)
    return {label: frozenset(lines) for label, lines in groups.items()}


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Both sequences are indexed by line; an empty log scores 1.0 (nothing to get wrong)."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    if not truth:
        return 1.0
    predicted_groups, truth_groups = _members(predicted), _members(truth)
    correct = sum(
        1
        for guess, label in zip(predicted, truth, strict=True)
        if predicted_groups[guess] == truth_groups[label]
    )
    return correct / len(truth)
