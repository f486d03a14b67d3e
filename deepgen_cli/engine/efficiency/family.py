"""The MobileNet v1 alpha/rho family (Howard et al. 2017, Fig. 4): published accuracy against Mult-Adds,
and this run's measured latency against Mult-Adds (the paper's premise that Mult-Adds predict latency)."""

from __future__ import annotations

import functools
import math

import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.outcome import Finding
from deepgen_cli.engine.stats import fragile_bound, paired_values, spearman_trend, standard_error

# Figure 4 of the MobileNet paper calls accuracy vs Mult-Adds "log linear": R^2 of the fit at least this.
LOG_LINEAR_R2 = 0.9
# "Mult-Adds predict latency": log latency against log Mult-Adds explains at least 90% of the variance (the same
# bar as the accuracy fit) AND its slope is above SLOPE_FLOOR at 95%, over interleaved timing blocks (a slope per
# block). Latency ~ Mult-Adds^0.5 means a 10x cut in Mult-Adds buys only 3.2x in latency, half of it in log terms:
# below that, Mult-Adds are a poor proxy for what the paper trades them for. Any positive slope is not enough.
LATENCY_R2 = 0.9
SLOPE_FLOOR = 0.5
# The noise gate: when the slope's 95% interval is wider than +-0.25 (half the way from the floor to
# proportional latency, slope 1), the timings cannot tell a weak predictor from a proportional one: cannot tell.
NOISE_GATE = 0.25
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
    """The verdict counts only the points this run measured, and rests on the paper's accuracies. Only when there
    is one (MIN_POINTS measured) are the other published points traced, once per process (`_count`), for the
    published fit over all eight in `analysis` (and the plot): a run of one or two MobileNets traces nothing."""
    seen = {(r.alpha, r.resolution): r.mult_adds for r in rows if r.name == "mobilenet"}
    mine = [(a, res, seen[(a, res)], top1 / 100) for (a, res), (top1, _, _) in sorted(published.MOBILENET_V1.items())
            if (a, res) in seen]
    if len(mine) < MIN_POINTS:
        return []
    points = mobilenet_family(rows)
    intercept, slope, r2 = log_linear_fit(points)
    analysis["mobilenet_family"] = {
        "accuracy": "published (Howard et al. 2017, Tables 6-8), ImageNet top-1",
        "points": [{"alpha": a, "resolution": r, "mult_adds": m, "top1": t} for a, r, m, t in points],
        "fit": {"intercept": intercept, "slope_per_decade": slope, "r2": r2},
    }
    a, b, r2 = log_linear_fit(mine)
    analysis["mobilenet_family"]["run_fit"] = {"points": [_label(p[0], p[1]) for p in mine], "intercept": a,
                                              "slope_per_decade": b, "r2": r2}
    return [Finding("MobileNet accuracy is log-linear in Mult-Adds over the alpha/rho family (Howard et al. 2017, Fig. 4)",
                    f"published top-1 of the {len(mine)} points this run has "
                    f"({', '.join(_label(p[0], p[1]) for p in mine)}) against their counted Mult-Adds: "
                    f"{100 * b:+.1f} top-1 points per 10x Mult-Adds, R^2 = {r2:.3f} (threshold {LOG_LINEAR_R2})",
                    r2 >= LOG_LINEAR_R2, "published")]


def _family_rows(rows) -> list:
    family: dict[tuple, object] = {}
    for r in rows:
        if r.name == "mobilenet":
            family.setdefault((r.alpha, r.resolution), r)
    pts = sorted(family.values(), key=lambda r: r.mult_adds)
    return pts if len({r.mult_adds for r in pts}) >= MIN_POINTS else []


def timed_family(rows) -> set[str]:
    """The MobileNet rows the latency claim fits: timed again in interleaved blocks."""
    return {r.model for r in _family_rows(rows)}


def _slope_verdict(slopes, r2) -> tuple[bool | None, str, bool]:
    """(verdict, reason, fragile) from the per-block slopes and the R^2 of the fit to the blocks' means."""
    p = paired_values(slopes)
    lo, hi = p.mean - p.half_width, p.mean + p.half_width
    if p.half_width > NOISE_GATE:
        return None, (f"timings too noisy: the slope's 95% interval ±{p.half_width:.2f} is wider than the ±"
                      f"{NOISE_GATE} noise gate"), False
    se = standard_error(p)
    if lo > SLOPE_FLOOR and r2 >= LATENCY_R2:
        return True, "", fragile_bound(lo, SLOPE_FLOOR, se)
    if hi < SLOPE_FLOOR or r2 < LATENCY_R2:
        return False, "", hi < SLOPE_FLOOR and fragile_bound(hi, SLOPE_FLOOR, se)
    return None, f"the slope's 95% interval {lo:.2f}-{hi:.2f} straddles the {SLOPE_FLOOR} floor", False


def latency_findings(rows, analysis: dict, blocks: dict | None = None) -> list[Finding]:
    """log10(latency) = a + b*log10(Mult-Adds) across the MobileNet v1 rows of distinct (alpha, resolution):
    judged on a slope per interleaved timing block and the fit to the blocks' geometric means."""
    pts = _family_rows(rows)
    if not pts:
        return []
    x = [math.log10(r.mult_adds) for r in pts]
    timed = bool(blocks) and all(r.model in blocks for r in pts)
    if timed:
        per_block = list(zip(*(blocks[r.model] for r in pts)))  # per block: each point's median ms
        slopes = [fit_line(x, [math.log10(v) for v in b])[1] for b in per_block]
        latency = [10 ** (sum(math.log10(v) for v in blocks[r.model]) / len(per_block)) for r in pts]
    else:
        slopes, latency = [], [r.latency_ms_median for r in pts]
    a, b, r2 = fit_line(x, [math.log10(v) for v in latency])
    rho = spearman_trend(x, latency).rho
    verdict, reason, fragile = (_slope_verdict(slopes, r2) if timed else
                                (None, "no interleaved timing of the family (timing_blocks 0)", False))
    p = paired_values(slopes) if timed else None
    analysis["mobilenet_latency"] = {
        "points": [{"alpha": r.alpha, "resolution": r.resolution, "mult_adds": r.mult_adds, "latency_ms": v}
                   for r, v in zip(pts, latency)],
        "fit": {"intercept": a, "slope": b, "r2": r2, "spearman_rho": rho,
                "axes": "log10 latency ms vs log10 Mult-Adds"},
        "block_slopes": slopes,
    }
    listing = ", ".join(f"{_label(r.alpha, r.resolution)} {r.mult_adds / 1e6:.0f}M: {v:.2f} ms"
                        for r, v in zip(pts, latency))
    interval = (f"slope per block {p.mean:.2f} ± {p.half_width:.2f} (95% interval, {p.n} interleaved blocks)"
                if p else "no interleaved blocks")
    return [Finding("Mult-Adds predict latency across the MobileNet alpha/rho family (Howard et al. 2017, Sec. 3)",
                    f"{listing} (geometric means over blocks); log-log fit: latency ~ Mult-Adds^{b:.2f}, R^2 = "
                    f"{r2:.3f}, Spearman rho {rho:.2f}; {interval} (yes needs R^2 >= {LATENCY_R2} and the slope's "
                    f"interval above {SLOPE_FLOOR}; no: R^2 below or the interval under {SLOPE_FLOOR}; cannot tell "
                    f"when the interval is wider than ±{NOISE_GATE}; batch {pts[0].batch_size}, {pts[0].threads} "
                    f"thread{'s' if pts[0].threads != 1 else ''})", verdict, "measured", reason=reason,
                    fragile=fragile)]
