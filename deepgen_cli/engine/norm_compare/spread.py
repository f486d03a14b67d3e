"""The few statistics norm-compare's verdicts use: means, seed SDs, paired differences.
Accuracies come in cells: (norm, microbatch, sampling) -> {seed: value}."""

from __future__ import annotations

import math
from typing import Iterable


def mean(values: Iterable[float]) -> float:
    v = list(values)
    return sum(v) / len(v)


def sd(values: Iterable[float]) -> float:
    """Sample standard deviation (n - 1); 0 for a single value."""
    v = list(values)
    if len(v) < 2:
        return 0.0
    m = mean(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def paired(a: dict, b: dict) -> list[float]:
    """a[seed] - b[seed] for the seeds both have, in seed order."""
    return [a[s] - b[s] for s in sorted(a) if s in b]


def by_cell(rows, field: str) -> dict[tuple[str, int | None, str], dict[int, float]]:
    """(norm, microbatch, sampling) -> {seed: getattr(row, field)}."""
    out: dict = {}
    for r in rows:
        out.setdefault((r.norm, r.microbatch, r.sampling), {})[r.seed] = getattr(r, field)
    return out
