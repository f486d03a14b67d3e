"""Paired comparisons over seeds: the same seed gives two settings the same initial weights, corruption and batch
order, so their difference per seed is the effect; a verdict needs the effect's 95% interval to exclude zero."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# Two-sided 95% critical values of Student's t by degrees of freedom (any statistics table); between the listed
# ones the next smaller df's value is used, which is the wider (more cautious) interval.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


NEEDS_SEEDS = "needs --repeats 2 or more: a paired comparison over seeds has no spread with one seed"


def t95(df: int) -> float:
    return T95[max(k for k in T95 if k <= df)]


@dataclass
class Paired:
    """The per-seed differences a - b, their mean, SD and the half-width of the mean's 95% interval."""

    diffs: list[float]
    mean: float
    sd: float
    half_width: float  # t95(n - 1) * sd / sqrt(n); inf with one seed (no spread measured)

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def above_zero(self) -> bool:
        """a is larger than b beyond the spread: the whole 95% interval lies above zero."""
        return self.n >= 2 and self.mean - self.half_width > 0

    @property
    def below_zero(self) -> bool:
        return self.n >= 2 and self.mean + self.half_width < 0

    def text(self, scale: float = 100.0, unit: str = " points") -> str:
        """'+0.4 points ± 0.9 (95% interval, 3 seeds)'."""
        if self.n < 2:
            return f"{scale * self.mean:+.1f}{unit} (1 seed: no spread)"
        return f"{scale * self.mean:+.1f}{unit} ± {scale * self.half_width:.1f} (95% interval, {self.n} seeds)"


def paired(a: dict, b: dict) -> Paired | None:
    """Differences a[seed] - b[seed] over the seeds both have (values None are skipped); None without one."""
    diffs = [a[s] - b[s] for s in sorted(set(a) & set(b)) if a[s] is not None and b[s] is not None]
    if not diffs:
        return None
    n = len(diffs)
    sd = statistics.stdev(diffs) if n > 1 else 0.0
    half = t95(n - 1) * sd / math.sqrt(n) if n > 1 else math.inf
    return Paired(diffs, statistics.fmean(diffs), sd, half)
