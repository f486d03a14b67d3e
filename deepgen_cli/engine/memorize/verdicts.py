"""The rules memorize's verdicts share: the trained floor, difference claims at 95%, non-inferiority and equivalence
with stated margins, each verdict with its fragile mark (stats.fragile_bound) and, when it cannot tell, its reason."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding
from deepgen_cli.engine.stats import NEEDS_SEEDS, Paired

# "It trained": test accuracy on true labels at least a quarter of the way from chance to 100% (32.5% on 10 classes).
# Zhang et al.'s weakest trained model (MLP 1x512 on CIFAR-10, 50.4%) is 45% of the way there; an untrained, diverged
# or collapsed network sits within a few points of chance. A claim about a trained network that misses it is null.
TRAINED_SHARE = 0.25


@dataclass
class Verdict:
    reproduced: bool | None
    fragile: bool = False
    reason: str = ""

    def finding(self, claim: str, measured: str) -> Finding:
        return Finding(claim, measured, self.reproduced, "measured", reason=self.reason,
                       fragile=self.fragile and self.reproduced is not None)


def trained_floor(num_classes: int) -> float:
    chance = 1 / num_classes
    return chance + TRAINED_SHARE * (1 - chance)


def untrained(rows, what: str) -> Verdict | None:
    """None when the rows' mean test accuracy on true labels reaches the trained floor; else a null verdict
    saying so."""
    rows = list(rows)
    if not rows:
        return None
    acc = statistics.fmean(r.test_accuracy for r in rows)
    floor = trained_floor(rows[0].num_classes)
    if acc >= floor:
        return None
    return Verdict(None, reason=f"{what} did not train: test accuracy {100 * acc:.1f}% on true labels, under the "
                                f"trained floor {100 * floor:.1f}% (chance + a quarter of the way to 100%)")


def above(p: Paired | None, threshold: float = 0.0, unit: float = 100.0, name: str = " points",
          side: int = 1) -> Verdict:
    """A difference claim: a - b above `threshold` at 95% (below it with side=-1); fragile when the deciding bound
    lies within one standard error of the threshold. `unit` and `name` format the interval in the reason."""
    if p is None or p.n < 2:
        return Verdict(None, reason=NEEDS_SEEDS)
    result = stats.difference(p, threshold)
    lo, hi = p.mean - p.half_width, p.mean + p.half_width
    if result is None:
        return Verdict(None, reason=f"the 95% interval, {unit * lo:+.2f} to {unit * hi:+.2f}{name} ({p.n} seeds), "
                                    f"includes {unit * threshold:+.2f}: the seed spread swallows the difference")
    fragile = stats.fragile_bound(lo if result else hi, threshold, stats.standard_error(p))
    return Verdict(result if side > 0 else not result, fragile)


def below(p: Paired | None, threshold: float = 0.0, unit: float = 100.0, name: str = " points") -> Verdict:
    """A difference claim: a - b below `threshold` at 95%."""
    return above(p, threshold, unit, name, side=-1)


def no_worse(p: Paired | None, margin: float, unit: float = 100.0, name: str = " points") -> Verdict:
    """Non-inferiority: the harm a - b at most `margin` at 95% (stats.noninferior)."""
    if p is None or p.n < 2:
        return Verdict(None, reason=NEEDS_SEEDS)
    result = stats.noninferior(p, margin)
    lo, hi = stats.one_sided_bounds(p)
    if result is None:
        return Verdict(None, reason=f"the harm's 90% interval, {unit * lo:+.2f} to {unit * hi:+.2f}{name} ({p.n} "
                                    f"seeds), straddles the margin {unit * margin:+.2f}: the run cannot tell")
    return Verdict(result, stats.fragile_bound(hi if result else lo, margin, stats.standard_error(p)))


def all_of(*verdicts: Verdict) -> Verdict:
    """A claim of several parts: no when any part is no, cannot tell when any part cannot, else yes."""
    noes = [v for v in verdicts if v.reproduced is False]
    if noes:
        return Verdict(False, any(v.fragile for v in noes))
    unsure = [v for v in verdicts if v.reproduced is None]
    if unsure:
        return Verdict(None, reason="; ".join(dict.fromkeys(v.reason for v in unsure)))
    return Verdict(True, any(v.fragile for v in verdicts))


def bounds_text(p: Paired, unit: float = 100.0, name: str = " points") -> str:
    lo, hi = stats.one_sided_bounds(p)
    return f"{unit * p.mean:+.1f}{name}, 90% interval {unit * lo:+.1f} to {unit * hi:+.1f} ({p.n} seeds)"
