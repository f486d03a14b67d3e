"""Ioffe (2017)'s "these problems are compounded with depth", judged on a norm-depth run: batch norm's loss at
the small microbatch (the reference microbatch's accuracy minus the small one's, paired by seed) at each depth,
its growth from the shallowest network to the deepest, and renorm's recovery at each depth.

Each verdict is yes, no or cannot tell (null, with its reason), at 95% over seeds; the margins are stated with
their reasons, none fitted to a result."""

from __future__ import annotations

from deepgen_cli.engine.norm_compare.findings import PREMISE_MARGIN, RECOVERED_SHARE, YES_NO
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.stats import (all_of, fragile_bound, mean, paired_seeds, paired_values, shown_or_bounded,
                                      shown_or_bounded_fragile, standard_error)


MIN_SEEDS = 2  # a seed spread needs two seeds
# "Grows": the deepest network's loss exceeds the shallowest's, shown at 95%; "does not grow": the one-sided 95%
# upper bound of that growth is under norm-compare's premise margin, 1 point (a quarter of the paper's smallest
# loss, 4.1 points): a growth smaller than the smallest loss worth calling a loss is no compounding.
GROWTH_MARGIN = PREMISE_MARGIN
# The network must have trained at the reference microbatch: 50% test accuracy, five times chance on digits' 10
# classes (mlp-bn reaches about 95% there); below it a loss measures an untrained network, not batch norm.
TRAINED_FLOOR = 0.5
CLAIM = "Batch norm's small-microbatch loss grows with the number of normalized layers (Ioffe 2017)"
RECOVERY = "Batch renorm recovers batch norm's small-microbatch loss at every depth (Ioffe 2017)"


def _finding(claim: str, measured: str, v: bool | None, reason: str = "", fragile: bool = False) -> Finding:
    return Finding(claim=claim, measured=measured, reproduced=v, basis="measured",
                   reason=reason if v is None else "", fragile=fragile)


def findings(rows: list, config) -> Outcome:
    acc: dict = {}
    for r in rows:
        acc.setdefault((r.depth, r.microbatch, r.norm), {})[r.seed] = r.test_accuracy
    depths = sorted({r.depth for r in rows})
    micro = sorted({r.microbatch for r in rows})
    analysis: dict = {"depths": depths, "microbatches": micro, "per_depth": []}
    notes = [f"mlp-bn of {config.width} units per hidden layer at depths {', '.join(map(str, depths))}, "
             f"minibatch {config.batch_size}, {config.epochs} epochs, seeds "
             f"{config.seed}..{config.seed + config.repeats - 1}"]
    if len(depths) < 2 or len(micro) < 2:
        return Outcome([], notes + ["two depths and two microbatches are needed to judge the claims"], analysis)
    small, ref = micro[0], micro[-1]
    cells = [acc.get((d, m, "batch"), {}) for d in depths for m in (small, ref)]
    if min(len(c) for c in cells) < MIN_SEEDS:
        reason = "fewer than 2 seeds in some cell: no seed spread (--repeats 2 or more)"
        return Outcome([_finding(CLAIM, "not measured over seeds", None, reason),
                        _finding(RECOVERY, "not measured over seeds", None, reason)], notes, analysis)
    losses, parts, states = {}, [], {}
    for d in depths:
        base, bn = acc[(d, ref, "batch")], acc[(d, small, "batch")]
        p = paired_seeds(base, bn)
        losses[d] = p
        states[d] = shown_or_bounded(p, PREMISE_MARGIN)
        analysis["per_depth"].append({"depth": d, "reference": mean(base.values()), "small": mean(bn.values()),
                                      "loss": p.mean, "half_width_95": p.half_width, "per_seed": p.diffs,
                                      "loss_shown": states[d]})
        parts.append(f"depth {d}: {100 * mean(base.values()):.1f}% at microbatch {ref}, "
                     f"{100 * mean(bn.values()):.1f}% at {small} (loss {p.text()})")
    shallow, deep = depths[0], depths[-1]
    growth = paired_values([a - b for a, b in zip(losses[deep].diffs, losses[shallow].diffs)])
    analysis["growth"] = {"mean": growth.mean, "half_width_95": growth.half_width, "per_seed": growth.diffs}
    floor = min(mean(acc[(d, ref, "batch")].values()) for d in depths)
    rule = (f" (yes: the 95% interval of the deepest loss minus the shallowest, paired by seed, lies above 0; no: "
            f"its one-sided 95% upper bound is under {100 * GROWTH_MARGIN:g} point; cannot tell when a reference "
            f"network is under {TRAINED_FLOOR:.0%} test accuracy or batch norm's loss is shown at no depth)")
    measured = ("batch norm's eval-mode test accuracy, mean over seeds: " + "; ".join(parts)
                + f"; growth depth {shallow} -> {deep}: {growth.text()}" + rule)
    if floor < TRAINED_FLOOR:
        why = f"a reference network did not train ({floor:.1%} test accuracy, under the {TRAINED_FLOOR:.0%} floor)"
        return Outcome([_finding(CLAIM, measured, None, why),
                        _finding(RECOVERY, "not judged: " + why, None, why)], notes, analysis)
    if not any(states.values()):
        found = [_finding(CLAIM, measured, None, "batch norm's small-microbatch loss is shown at no depth: there is "
                                                 "no small-batch problem to compound")]
    else:
        v, f = shown_or_bounded_fragile(growth, GROWTH_MARGIN)
        found = [_finding(CLAIM, measured, v, "the growth's 95% interval is wider than the margin", f)]
    return Outcome(found + [_recovery(acc, depths, small, ref, states, analysis)], notes, analysis)


def _recovery(acc, depths, small, ref, states, analysis) -> Finding:
    """At each depth where batch norm's loss is shown: renorm's gain minus RECOVERED_SHARE of the loss, per seed,
    at 95% (norm-compare's rule: the paper's smaller recovery took back 56% of the loss)."""
    parts, verdicts, fragile = [], [], []
    for d in depths:
        base, bn, brn = acc[(d, ref, "batch")], acc[(d, small, "batch")], acc.get((d, small, "renorm"), {})
        seeds = sorted(set(base) & set(bn) & set(brn))
        if len(seeds) < MIN_SEEDS:
            parts.append(f"depth {d}: renorm not measured over seeds")
            continue
        gain = paired_values([brn[s] - bn[s] for s in seeds])
        text = f"depth {d}: renorm − batch norm {gain.text()}"
        if states[d] is True:
            excess = paired_values([(brn[s] - bn[s]) - RECOVERED_SHARE * (base[s] - bn[s]) for s in seeds])
            share = gain.mean / mean(base[s] - bn[s] for s in seeds)
            v = True if excess.above_zero else False if excess.below_zero else None
            f = v is not None and fragile_bound(excess.mean + (-1 if v else 1) * excess.half_width, 0.0,
                                                standard_error(excess))
            verdicts.append(v)
            fragile.append(f)
            text += f", {share:.0%} of the loss recovered: {YES_NO[v]}"
            analysis["per_depth"][depths.index(d)].update(renorm_gain=gain.mean, recovered_share=share, recovery=v)
        else:
            text += ", where batch norm's loss is not shown: not judged"
        parts.append(text)
    measured = ("eval-mode test accuracy at the small microbatch, paired by seed: " + "; ".join(parts)
                + f" (yes: at every depth where batch norm's loss is shown, the 95% interval of gain − "
                  f"{RECOVERED_SHARE:g} × loss lies above 0; no: it lies below 0 at one)")
    if not verdicts:
        return _finding(RECOVERY, measured, None, "the premise failed: batch norm's loss is shown at no depth, so "
                                                  "there is nothing to recover")
    v = all_of(verdicts)
    return _finding(RECOVERY, measured, v, "at some depth the recovered share's interval straddles the threshold",
                    v is not None and any(f for x, f in zip(verdicts, fragile) if x is v))
