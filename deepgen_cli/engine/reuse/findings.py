"""Huang et al.'s four Figure 5 observations as verdicts: each read off every seed's trained network and judged
against the same seed's network at its initial weights, since learned reuse is a change from initialization.

Input per network: blocks[b][t][s], target t's mean |w| on source s divided by the column's largest value (1 marks
the source the target weighs most); columns 0..L-1 are the conv layers, the last the transition or classifier.
"""

from __future__ import annotations

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding

# A source counts as used by a target when its per-map weight is at least a quarter of the target's most
# weighted source: the paper's "non-negligible" is any colour above the dark end of its scale.
USED = 0.25
# "Very early" layers are the first quarter of a block's conv layers, "deep" layers the last quarter (at
# least one each): the paper's 12-layer blocks then give 3 and 3.
QUARTER = 0.25
# "Consistently" (observation 3): in at least three of every four layers that have a choice; the paper's figure
# shows it in every layer of blocks 2 and 3. Judged by the one-sided 95% lower bound of the share over seeds.
CONSISTENT = 0.75
# Observation 4 counts seeds whose classifier weighs one of the last quarter of layers most, against chance: with
# fewer than 3 seeds even a hit in every one is within chance (2 of 2 at chance 1/4: p = 0.0625).
ARGMAX_SEEDS = 3
ALPHA = 0.05  # one-sided, every test here
PAPER = "Huang et al. 2017, Fig. 5"

Blocks = list[list[list[float]]]  # block -> column (target) -> source

CLAIMS = (
    f"Deep layers put non-negligible weight on very early layers' features ({PAPER}, obs. 1)",
    f"Transition layers spread their weights over all layers of the preceding block ({PAPER}, obs. 2)",
    f"In the second and later blocks, layers give the least weight to the transition layer's outputs ({PAPER}, obs. 3)",
    f"The classifier uses the whole last block but concentrates on its last feature maps ({PAPER}, obs. 4)",
)


def trained_floor(classes: int) -> float:
    """The test accuracy a trained network must reach before its weights are read: halfway from chance to 100%
    (55% on 10 classes, about 18 times the 9.3% of a network that learned nothing and well under the 96-98%
    densenet-small reaches on digits). Below it the network has not learned the task, so any pattern in its
    weights is initialization's."""
    return (1 + 1 / classes) / 2


def quarter(n: int) -> int:
    return max(1, int(n * QUARTER))


def _fmt(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


# --- one network's statistic per observation (None: its blocks cannot show it) ---------------------------------

def early_use(blocks: Blocks) -> float | None:
    """1. Over blocks and their last quarter of layers, the least of the largest weight on the first quarter."""
    per_block = []
    for cols in blocks:
        n = len(cols) - 1  # conv layers
        if n < 2:
            continue
        q = quarter(n)
        per_block.append(min(max(cols[t][1:q + 1]) for t in range(n - q, n)))  # column t reads sources 0..t
    return min(per_block) if per_block else None


def transition_spread(blocks: Blocks) -> float | None:
    """2. The least weight of any transition on any source of its block."""
    lows = [min(cols[-1]) for cols in blocks[:-1]]
    return min(lows) if lows else None


def block_input_least(blocks: Blocks) -> float | None:
    """3. The share of blocks 2+'s layers 2..L whose least weighted source is the block input (a tie is none)."""
    least = [col[0] < min(col[1:]) for cols in blocks[1:] for col in cols[1:-1]]
    return sum(least) / len(least) if least else None


def classifier_focus(blocks: Blocks) -> bool | None:
    """4. The classifier uses every source (>= USED) and weighs one of the last quarter of layers most."""
    if not blocks or len(blocks[-1]) < 2:
        return None
    col = blocks[-1][-1]  # sources 0..L of the last block
    n = len(col) - 1
    top = max(range(len(col)), key=col.__getitem__)
    return min(col) >= USED and top > n - quarter(n)


def classifier_chance(blocks: Blocks) -> float:
    """How often initialization puts the classifier's largest weight on the last quarter of layers: every source
    has the same expected |w|, and the block input's mean over many more maps rarely is the largest, so the argmax
    falls on each of the L layers about equally: quarter / L (more cautious than quarter / (L + 1))."""
    n = len(blocks[-1][-1]) - 1
    return quarter(n) / n


# --- verdicts -----------------------------------------------------------------------------------------------

def _bounds(values: list[float]) -> stats.Paired:
    return stats.paired_seeds(dict(enumerate(values)), dict.fromkeys(range(len(values)), 0.0))


def threshold_verdict(trained: list[float], initial: list[float], threshold: float) -> tuple:
    """(verdict, measured, reason, fragile) for "the statistic is at least `threshold`", over seeds: no when the
    trained networks' one-sided 95% upper bound lies below it; cannot tell when the initial weights reach it too
    (mean), or with one seed; yes when the lower bound reaches it and the paired change from initialization is
    above zero (one-sided 95%); cannot tell otherwise."""
    t, d = _bounds(trained), stats.paired_seeds(dict(enumerate(trained)), dict(enumerate(initial)))
    lo, hi = stats.one_sided_bounds(t)
    dlo, dhi = stats.one_sided_bounds(d)
    se, dse = stats.standard_error(t), stats.standard_error(d)
    measured = (f"trained {_fmt(trained)} (mean {t.mean:.2f}, one-sided 95% bounds {lo:.2f}..{hi:.2f}); initial "
                f"weights {_fmt(initial)}; change {d.mean:+.2f} (bounds {dlo:+.2f}..{dhi:+.2f}); needs >= {threshold}"
                f" and above the initial weights")
    if t.n < 2:
        return None, measured, f"{stats.NEEDS_SEEDS} (a --weights file is one network)", False
    if hi < threshold:
        return False, measured, "", stats.fragile_bound(hi, threshold, se)
    if stats.mean(initial) >= threshold:
        return None, measured, (f"holds at the initial weights too (mean {stats.mean(initial):.2f} >= {threshold}), "
                                "where every input map of a layer has the same expected |w|: this run cannot tell "
                                "a learned pattern from initialization's"), False
    if lo >= threshold and dlo > 0:
        return True, measured, "", stats.fragile_bound(lo, threshold, se) or stats.fragile_bound(dlo, 0.0, dse)
    return None, measured, (f"the trained networks' bounds {lo:.2f}..{hi:.2f} straddle {threshold} or the change "
                            f"from initialization ({dlo:+.2f}..) is not above zero"), False


def argmax_verdict(trained: list[bool], initial: list[bool], chance: float) -> tuple:
    """(verdict, measured, reason, fragile) for "the event happens in trained networks beyond chance": a one-sided
    binomial test of the seeds where it does against `chance`, at 95% over >= ARGMAX_SEEDS seeds; no when it
    happens no more often than chance; cannot tell when the initial weights pass the same test or the test is
    undecided."""
    m, k, k0 = len(trained), sum(trained), sum(initial)
    p, p0 = stats.binomial_upper_tail(k, m, chance), stats.binomial_upper_tail(k0, len(initial), chance)
    measured = (f"{k}/{m} trained networks (p = {p:.3f} against chance {chance:.2f} per seed, one-sided binomial), "
                f"{k0}/{len(initial)} at the initial weights; needs p < {ALPHA} over >= {ARGMAX_SEEDS} seeds")
    if m < ARGMAX_SEEDS:
        return None, measured, (f"needs --repeats {ARGMAX_SEEDS} or more (a --weights file is one network): with "
                                "fewer seeds a hit in every one is within chance"), False
    if k <= m * chance:
        return False, measured, "", False
    if p0 < ALPHA:
        return None, measured, f"the initial weights pass the same test (p = {p0:.3f}): not a learned pattern", False
    if p < ALPHA:
        return True, measured, "", stats.fragile_p(p, ALPHA)
    return None, measured, f"more often than chance but not beyond it at 95% (p = {p:.3f})", stats.fragile_p(p, ALPHA)


STATISTICS = (
    (early_use, "per seed, over blocks and their last quarter of layers, the least of the largest weight on the first "
                "quarter of layers (of the target's strongest source)", USED),
    (transition_spread, "per seed, the least weight of any transition on any source of its block", USED),
    (block_input_least, "per seed, the share of blocks 2+'s layers 2..L whose least weighted source is the block "
                        "input ('consistently')", CONSISTENT),
)


def _untrained_reason(accuracy: list[float | None], classes: int) -> str:
    floor = trained_floor(classes)
    if None in accuracy:
        return (f"{accuracy.count(None)} trained networks' test accuracy is unknown (resumed from a record without "
                f"it), so the floor {floor:.0%} cannot be checked: run without --resume")
    low = [(i, a) for i, a in enumerate(accuracy) if a < floor]
    if not low:
        return ""
    seeds = ", ".join(f"{a:.1%}" for _, a in low)
    return (f"{len(low)} of {len(accuracy)} trained networks under the test-accuracy floor {floor:.0%} (halfway from "
            f"chance {1 / classes:.0%} to 100%): {seeds}; a network that has not learned the task shows no learned reuse")


def findings(trained: list[Blocks], untrained: list[Blocks], accuracy: list[float], classes: int) -> list[Finding]:
    """The four verdicts on the trained networks (one per seed) against the same seeds' initial weights; every one
    cannot tell when a trained network is under the accuracy floor or there is none (--untrained)."""
    out = []
    gate = ("no trained network (--untrained): learned reuse is a change from the initial weights, so it needs a "
            "trained network to compare" if not trained else _untrained_reason(accuracy, classes))
    for claim, (stat, what, threshold) in zip(CLAIMS, STATISTICS):
        init = [stat(b) for b in untrained]
        if any(v is None for v in init):
            continue
        if not trained:
            out.append(Finding(claim, f"{what}: initial weights {_fmt(init)}", None, "measured", gate))
            continue
        verdict, measured, reason, fragile = threshold_verdict([stat(b) for b in trained], init, threshold)
        out.append(Finding(claim, f"{what}: {measured}", None if gate else verdict, "measured", gate or reason,
                           fragile and not gate))
    if untrained and classifier_focus(untrained[0]) is not None:
        chance = classifier_chance(untrained[0])
        what = (f"per seed, whether the classifier uses every source (>= {USED}) and weighs one of the last "
                f"{quarter(len(untrained[0][-1][-1]) - 1)} of {len(untrained[0][-1][-1]) - 1} layers most")
        hits0 = [classifier_focus(b) for b in untrained]
        if not trained:
            out.append(Finding(CLAIMS[3], f"{what}: {sum(hits0)}/{len(hits0)} at the initial weights", None,
                               "measured", gate))
        else:
            verdict, measured, reason, fragile = argmax_verdict([classifier_focus(b) for b in trained], hits0, chance)
            out.append(Finding(CLAIMS[3], f"{what}: {measured}", None if gate else verdict, "measured", gate or reason,
                               fragile and not gate))
    return out
