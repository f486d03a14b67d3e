"""compress's two verdicts: the 510x on the architectures (exact counts), and the accuracy the same compression
costs a small trained network (non-inferiority over paired seeds)."""

from __future__ import annotations

import math

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding

PAPER = "Iandola et al. 2016, Table 2"
CLAIMS = (
    f"SqueezeNet with Deep Compression (33% of weights kept, 6-bit sharing) is 510x smaller than 32-bit AlexNet "
    f"(240 MB vs 0.47 MB) ({PAPER})",
    f"Deep Compression costs no accuracy (57.5% top-1 for SqueezeNet compressed and not) ({PAPER})",
)
# The paper's figures have two digits: 240 MB is 235..245 and 0.47 MB is 0.465..0.475, so the least ratio they allow
# is 235 / 0.475 = 494.7x. The count is exact, so the rule has no spread: yes at or above it, no below.
LEAST_RATIO = 235 / 0.475
# "No loss" at most 1 point of test accuracy, one-sided 95% over paired seeds: the paper's equality is at 0.1 points
# on 50,000 images, which 450 digits test images cannot resolve (one image is 0.22 points); 1 point (4-5 images)
# is the least loss 3 seeds of this run can tell apart from none, so a yes here is weaker than the paper's.
MARGIN = 0.01


def trained_floor(classes: int) -> float:
    """Halfway from chance to 100% (55% on 10 classes): under it the network did not learn the task, and a
    compression that keeps a chance-level network at chance says nothing about 'no loss'."""
    return (1 + 1 / classes) / 2


def _row(rows, network, stage):
    return next((r for r in rows if r.network == network and r.stage == stage), None)


def architecture(rows) -> Finding | None:
    alex, plain, huff = _row(rows, "alexnet", "32-bit"), _row(rows, "squeezenet", "pruned+shared"), \
        _row(rows, "squeezenet", "+huffman")
    if None in (alex, plain, huff):
        return None
    squeeze = _row(rows, "squeezenet", "32-bit")
    measured = (f"AlexNet {alex.bytes:,} bytes at 32 bits; SqueezeNet {squeeze.bytes:,} ({squeeze.ratio:.1f}x), "
                f"{plain.kept:,} of {plain.weights:,} weights kept: {plain.bytes:,} bytes in relative-index storage "
                f"({plain.ratio:.0f}x), {huff.bytes:,} Huffman-coded ({huff.ratio:.0f}x); needs >= {LEAST_RATIO:.1f}x "
                f"(the least the paper's rounded 240 MB / 0.47 MB allow), Huffman-coded as Deep Compression stores")
    return Finding(CLAIMS[0], measured, huff.ratio >= LEAST_RATIO, "architecture")


def accuracy(rows, network: str, classes: int) -> Finding | None:
    dense = {r.seed: r.test_accuracy for r in rows if r.network == network and r.stage == "32-bit"}
    small = {r.seed: r.test_accuracy for r in rows if r.network == network and r.stage == "pruned+shared"}
    p = stats.paired_seeds(dense, small)
    if p is None:
        return None
    lo, hi = stats.one_sided_bounds(p)
    floor = trained_floor(classes)
    measured = (f"{network}: test accuracy {', '.join(f'{dense[s]:.1%}' for s in sorted(dense))} at 32 bits, "
                f"{', '.join(f'{small[s]:.1%}' for s in sorted(small))} compressed; loss {p.text()}, one-sided 95% "
                f"upper bound {100 * hi:+.1f} points; 'no loss' needs the bound under {100 * MARGIN:g} point")
    low = [a for a in dense.values() if a < floor]
    if low:
        return Finding(CLAIMS[1], measured, None, "measured",
                       f"{len(low)} of {len(dense)} networks under the test-accuracy floor {floor:.0%} (halfway from "
                       f"chance to 100%) before compressing: an untrained network has no accuracy to lose")
    if p.n < 2:
        return Finding(CLAIMS[1], measured, None, "measured", stats.NEEDS_SEEDS)
    verdict = stats.noninferior(p, MARGIN)
    se = stats.standard_error(p)
    if verdict is None:
        return Finding(CLAIMS[1], measured, None, "measured",
                       f"the 90% interval {100 * lo:+.1f}..{100 * hi:+.1f} points straddles the {100 * MARGIN:g}-point "
                       f"margin: wider than the margin the claim is judged by")
    bound = hi if verdict else lo
    return Finding(CLAIMS[1], measured, verdict, "measured",
                   fragile=math.isfinite(se) and stats.fragile_bound(bound, MARGIN, se))


def findings(rows, config, classes: int) -> list[Finding]:
    return [f for f in (architecture(rows), accuracy(rows, config.model, classes)) if f is not None]
