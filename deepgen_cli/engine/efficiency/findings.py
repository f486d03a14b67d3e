"""The papers' efficiency claims, each checked against the rows this run measured."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.op_counts import does_matrix_work
from deepgen_cli.engine.outcome import Finding, Outcome

# A claimed ratio counts as reproduced within this relative distance ("50x" holds for 45x to 55x).
RATIO_TOLERANCE = 0.10
# Measured Mult-Adds agree with a published count within this relative distance.
COUNT_TOLERANCE = 0.02
# Figure 4 of the MobileNet paper calls accuracy vs Mult-Adds "log linear": R^2 of the fit at least this.
LOG_LINEAR_R2 = 0.9


@dataclass(frozen=True)
class PairClaim:
    small: tuple[str, float | None, int | None]  # (name, alpha, resolution); None matches any
    large: tuple[str, float | None, int | None]
    metric: str  # row key compared: params or mult_adds
    factor: float  # large / small, as claimed
    claim: str


PAIR_CLAIMS = [
    PairClaim(("squeezenet", None, 224), ("alexnet", None, 224), "params", 50,
              "SqueezeNet has 50x fewer parameters than AlexNet (Iandola et al. 2016)"),
    PairClaim(("squeezenet1_1", None, 224), ("alexnet", None, 224), "params", 50,
              "SqueezeNet 1.1 has 50x fewer parameters than AlexNet (Iandola et al. 2016)"),
    PairClaim(("mobilenet", 0.5, 160), ("squeezenet", None, 224), "mult_adds", 22,
              "0.50 MobileNet-160 needs 22x fewer Mult-Adds than SqueezeNet (Howard et al. 2017, Table 8)"),
    PairClaim(("mobilenet", 0.5, 160), ("alexnet", None, 224), "mult_adds", 9.4,
              "0.50 MobileNet-160 needs 9.4x fewer Mult-Adds than AlexNet (Howard et al. 2017, Table 8)"),
    PairClaim(("mobilenet", 0.5, 160), ("alexnet", None, 224), "params", 45,
              "0.50 MobileNet-160 has 45x fewer parameters than AlexNet (Howard et al. 2017, Table 8)"),
]


def _matches(row, key) -> bool:
    name, alpha, res = key
    return (row.name == name and (alpha is None or row.alpha == alpha)
            and (res is None or row.resolution == res))


def _pair_findings(rows) -> list[Finding]:
    out = []
    for pc in PAIR_CLAIMS:
        small = next((r for r in rows if _matches(r, pc.small)), None)
        large = next((r for r in rows if _matches(r, pc.large)), None)
        if small is None or large is None:
            continue  # untested claims get no verdict
        got = getattr(large, pc.metric) / getattr(small, pc.metric)
        ok = abs(got / pc.factor - 1) <= RATIO_TOLERANCE
        out.append(Finding(pc.claim, f"{large.model} / {small.model} {pc.metric.replace('_', '-')} = {got:.1f}x "
                                     f"(claimed {pc.factor:g}x, tolerance ±{RATIO_TOLERANCE:.0%})", ok))
    return out


def _depthwise_findings(rows) -> list[Finding]:
    """Paper section 3.1: depthwise separable 3x3 convolutions use 8 to 9 times less computation."""
    out = []
    for sep in (r for r in rows if r.name == "mobilenet"):
        full = next((r for r in rows if r.name == "mobilenet-conv" and r.alpha == sep.alpha
                     and r.resolution == sep.resolution), None)
        if full is None:
            continue
        got = full.mult_adds / sep.mult_adds
        out.append(Finding("Depthwise separable convolutions cut computation 8 to 9 times (Howard et al. 2017)",
                           f"{full.model} / {sep.model} Mult-Adds = {got:.2f}x "
                           f"({full.mult_adds / 1e6:.0f}M vs {sep.mult_adds / 1e6:.0f}M)", 8 <= got <= 9))
    return out


def _count_findings(rows) -> list[Finding]:
    """Our fvcore count against the count each source published for the same model."""
    checked = [r for r in rows if r.published_mult_adds]
    if not checked:
        return []
    errors = [(abs(r.mult_adds / r.published_mult_adds - 1), r) for r in checked]
    worst, row = max(errors, key=lambda e: e[0])
    listing = ", ".join(f"{r.model} {r.mult_adds / 1e6:.0f}M vs {r.published_mult_adds / 1e6:.0f}M" for r in checked)
    return [Finding("Measured Mult-Adds equal the published counts", f"{listing}; largest difference "
                    f"{worst:.1%} ({row.model}), tolerance {COUNT_TOLERANCE:.0%}", worst <= COUNT_TOLERANCE)]


def mobilenet_family(rows) -> list[tuple[float, int, int, float]]:
    """(alpha, resolution, measured Mult-Adds, published top-1) for every published MobileNet v1 point.

    Points already measured in this run are reused; the others are counted now (no timing).
    """
    seen = {(r.alpha, r.resolution): r.mult_adds for r in rows if r.name == "mobilenet"}
    points = []
    for (alpha, res), (top1, _, _) in sorted(published.MOBILENET_V1.items()):
        madds = seen.get((alpha, res))
        if madds is None:
            madds = measure.mult_adds(models.get("mobilenet", width_mult=alpha), torch.zeros(1, 3, res, res)).total
        points.append((alpha, res, madds, top1 / 100))
    return points


def log_linear_fit(points) -> tuple[float, float, float]:
    """Least squares top1 = a + b*log10(Mult-Adds); returns (a, b, R^2)."""
    xs = [math.log10(p[2]) for p in points]
    ys = [p[3] for p in points]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, 1 - ss_res / ss_tot


def _family_findings(rows, analysis: dict) -> list[Finding]:
    if not any(r.name == "mobilenet" for r in rows):
        return []
    points = mobilenet_family(rows)
    intercept, slope, r2 = log_linear_fit(points)
    analysis["mobilenet_family"] = {
        "points": [{"alpha": a, "resolution": r, "mult_adds": m, "top1": t} for a, r, m, t in points],
        "fit": {"intercept": intercept, "slope_per_decade": slope, "r2": r2},
    }
    return [Finding("MobileNet accuracy is log-linear in Mult-Adds over the alpha/rho family (Howard et al. 2017, Fig. 4)",
                    f"fit over {len(points)} published points with this run's Mult-Adds: "
                    f"{100 * slope:+.1f} top-1 points per 10x Mult-Adds, R^2 = {r2:.3f} (threshold {LOG_LINEAR_R2})",
                    r2 >= LOG_LINEAR_R2)]


def findings(rows) -> Outcome:
    analysis: dict = {}
    family = _family_findings(rows, analysis)
    notes = []
    skipped = sorted({op for r in rows for op in r.skipped_ops})
    matrix = [f"{op.removeprefix('aten::')} ({', '.join(r.model for r in rows if op in r.skipped_ops)})"
              for op in skipped if does_matrix_work(op)]
    other = [op.removeprefix("aten::") for op in skipped if not does_matrix_work(op)]
    if matrix:
        notes.append(f"WARNING: ops that multiply matrices were not counted, so these models' Mult-Adds are "
                     f"too low: {', '.join(matrix)}")
    if other:
        notes.append(f"not counted as Mult-Adds, by convention (element-wise, pooling, activations): {', '.join(other)}")
    if any(r.name == "squeezenet" for r in rows):
        notes.append("the MobileNet paper's SqueezeNet row says 1700M Mult-Adds, about twice the real count")
    return Outcome(_count_findings(rows) + _pair_findings(rows) + _depthwise_findings(rows) + family,
                   notes, analysis)
