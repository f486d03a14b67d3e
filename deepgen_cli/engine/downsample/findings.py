"""downsample's verdict: late downsampling's gain in test accuracy over early, paired by seed."""

from __future__ import annotations

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding

CLAIM = ("Downsampling late in the network (large activation maps) raises accuracy "
         "(Iandola et al. 2016, strategy 3; He & Sun 2015)")
# A gain shown absent is one whose one-sided 95% upper bound is under 1 point: 4-5 of the 450 digits test images,
# the least difference 3 seeds here resolve (one image is 0.22 points). The paper gives no size for the gain.
MARGIN = 0.01


def trained_floor(classes: int) -> float:
    """Halfway from chance to 100% (55% on 10 classes): under it a network has not learned the task, and two
    networks at chance differ by noise, not by where they downsample."""
    return (1 + 1 / classes) / 2


def findings(rows, classes: int) -> list[Finding]:
    acc = {p: {r.seed: r.test_accuracy for r in rows if r.placement == p} for p in ("early", "late")}
    ops = {r.placement: r.mult_adds for r in rows}
    p = stats.paired_seeds(acc["late"], acc["early"])
    if p is None or len(ops) < 2:
        return []
    lo, hi = stats.one_sided_bounds(p)
    measured = (f"test accuracy early {', '.join(f'{a:.1%}' for a in acc['early'].values())}, late "
                f"{', '.join(f'{a:.1%}' for a in acc['late'].values())}; gain {p.text()}; Mult-Adds per image early "
                f"{ops['early']:,}, late {ops['late']:,} ({ops['late'] / max(ops['early'], 1):.2f}x); yes when the "
                f"95% interval is above 0, no when the one-sided upper bound is under {100 * MARGIN:g} point")
    floor = trained_floor(classes)
    low = [a for v in acc.values() for a in v.values() if a < floor]
    if low:
        return [Finding(CLAIM, measured, None, "measured",
                        f"{len(low)} networks under the test-accuracy floor {floor:.0%} (halfway from chance to 100%): "
                        "networks that did not learn the task say nothing about where to downsample")]
    if p.n < 2:
        return [Finding(CLAIM, measured, None, "measured", stats.NEEDS_SEEDS)]
    verdict = stats.shown_or_bounded(p, MARGIN)
    se = stats.standard_error(p)
    if verdict is None:
        return [Finding(CLAIM, measured, None, "measured",
                        f"the 95% interval reaches 0 and the upper bound {100 * hi:+.1f} points is above the "
                        f"{100 * MARGIN:g}-point margin: too wide to tell")]
    fragile = (stats.fragile_bound(p.mean - p.half_width, 0.0, se) if verdict
               else stats.fragile_bound(hi, MARGIN, se)) if p.sd > 0 else False
    return [Finding(CLAIM, measured, verdict, "measured", fragile=fragile)]
