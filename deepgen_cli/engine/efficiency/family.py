"""The MobileNet v1 alpha/rho family (Howard et al. 2017, Fig. 4): published accuracy against Mult-Adds,
and this run's measured latency against Mult-Adds (the paper's premise that Mult-Adds predict latency)."""

from __future__ import annotations

import functools
import math

import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.outcome import Finding

# Figure 4 of the MobileNet paper calls accuracy vs Mult-Adds "log linear": R^2 of the fit at least this.
LOG_LINEAR_R2 = 0.9
# "Mult-Adds predict latency": log latency vs log Mult-Adds explains at least 90% of the variance, the same
# bar as the accuracy fit, and latency rises with Mult-Adds (slope > 0).
LATENCY_R2 = 0.9
# A straight line through fewer points says nothing: two points always fit exactly.
MIN_POINTS = 3


@functools.lru_cache(maxsize=None)
def _count(alpha: float, res: int) -> int:
    """MobileNet v1's Mult-Adds at width alpha and side res: architecture only, so counted once per process."""
    return measure.mult_adds(models.create("mobilenet", width_mult=alpha), torch.zeros(1, 3, res, res)).total


def mobilenet_family(rows) -> list[tuple[float, int, int, float]]:
    """(alpha, resolution, measured Mult-Adds, published top-1) for every published MobileNet v1 point.

    Points already measured in this run are reused; the others are counted now (no timing).
    """
    seen = {(r.alpha, r.resolution): r.mult_adds for r in rows if r.name == "mobilenet"}
    points = []
    for (alpha, res), (top1, _, _) in sorted(published.MOBILENET_V1.items()):
        madds = seen.get((alpha, res)) or _count(alpha, res)
        points.append((alpha, res, madds, top1 / 100))
    return points


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b*x; returns (a, b, R^2), R^2 taken as 0 when y is constant."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, (1 - ss_res / ss_tot) if ss_tot > 0 else 0.0


def log_linear_fit(points) -> tuple[float, float, float]:
    """Least squares top1 = a + b*log10(Mult-Adds) over (alpha, resolution, Mult-Adds, top1) points."""
    return fit_line([math.log10(p[2]) for p in points], [p[3] for p in points])


def _label(alpha: float, res: int) -> str:
    return f"{alpha:g}@{res}"


def accuracy_findings(rows, analysis: dict) -> list[Finding]:
    """The published fit over all eight points goes to `analysis` (and the plot); the verdict counts only
    the points this run measured, and rests on the paper's accuracies."""
    if not any(r.name == "mobilenet" for r in rows):
        return []
    points = mobilenet_family(rows)
    intercept, slope, r2 = log_linear_fit(points)
    analysis["mobilenet_family"] = {
        "accuracy": "published (Howard et al. 2017, Tables 6-8), ImageNet top-1",
        "points": [{"alpha": a, "resolution": r, "mult_adds": m, "top1": t} for a, r, m, t in points],
        "fit": {"intercept": intercept, "slope_per_decade": slope, "r2": r2},
    }
    have = {(r.alpha, r.resolution) for r in rows if r.name == "mobilenet"}
    mine = [p for p in points if (p[0], p[1]) in have]
    if len(mine) < MIN_POINTS:
        return []
    a, b, r2 = log_linear_fit(mine)
    analysis["mobilenet_family"]["run_fit"] = {"points": [_label(p[0], p[1]) for p in mine], "intercept": a,
                                              "slope_per_decade": b, "r2": r2}
    return [Finding("MobileNet accuracy is log-linear in Mult-Adds over the alpha/rho family (Howard et al. 2017, Fig. 4)",
                    f"published top-1 of the {len(mine)} points this run has "
                    f"({', '.join(_label(p[0], p[1]) for p in mine)}) against their counted Mult-Adds: "
                    f"{100 * b:+.1f} top-1 points per 10x Mult-Adds, R^2 = {r2:.3f} (threshold {LOG_LINEAR_R2})",
                    r2 >= LOG_LINEAR_R2, "published")]


def latency_findings(rows, analysis: dict) -> list[Finding]:
    """log10(latency) = a + b*log10(Mult-Adds) across the MobileNet v1 rows of distinct (alpha, resolution)."""
    family: dict[tuple, object] = {}
    for r in rows:
        if r.name == "mobilenet":
            family.setdefault((r.alpha, r.resolution), r)
    pts = sorted(family.values(), key=lambda r: r.mult_adds)
    if len({r.mult_adds for r in pts}) < MIN_POINTS:
        return []
    a, b, r2 = fit_line([math.log10(r.mult_adds) for r in pts], [math.log10(r.latency_ms_median) for r in pts])
    analysis["mobilenet_latency"] = {
        "points": [{"alpha": r.alpha, "resolution": r.resolution, "mult_adds": r.mult_adds,
                    "latency_ms_median": r.latency_ms_median} for r in pts],
        "fit": {"intercept": a, "slope": b, "r2": r2, "axes": "log10 latency ms vs log10 Mult-Adds"},
    }
    listing = ", ".join(f"{_label(r.alpha, r.resolution)} {r.mult_adds / 1e6:.0f}M: {r.latency_ms_median:.2f} ms"
                        for r in pts)
    return [Finding("Mult-Adds predict latency across the MobileNet alpha/rho family (Howard et al. 2017, Sec. 3)",
                    f"{listing}; log-log fit: latency ~ Mult-Adds^{b:.2f}, R^2 = {r2:.3f} (needs R^2 >= {LATENCY_R2} "
                    f"and a positive slope; batch {pts[0].batch_size}, {pts[0].threads} thread"
                    f"{'s' if pts[0].threads != 1 else ''})", r2 >= LATENCY_R2 and b > 0, "measured")]
