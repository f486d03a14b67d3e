"""Ioffe (2017)'s batch renorm claims judged on the rows of a `norm-compare` run: the premise (batch norm loses
accuracy at small or non-i.i.d. microbatches), renorm's recovery, the train/eval output gap and the step cost.

Accuracy claims are differences at 95% over seeds (paired by seed: the same initial weights and minibatches);
the step cost is an equivalence test over interleaved timing blocks. Each verdict is yes, no, or "cannot tell"
(null, with its reason) when the interval is wider than the claim's margin; the margins are stated below with
their reasons, none fitted to a result. Claims the run did not test get no verdict."""

from __future__ import annotations

import math

from deepgen_cli.engine.norm_compare.notes import PAPER, notes_for
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.stats import (all_of, equivalent, fragile_bound, mean, one_sided_bounds, paired_seeds,
                                      paired_values, sd, shown_or_bounded_fragile, standard_error)


MIN_SEEDS = 2  # a seed spread needs two seeds
# A loss of accuracy smaller than this is no loss for the premise: a quarter of the paper's smallest one (4.1
# points: 78.3% at microbatch 32 to 74.2% at microbatch 4), and 4.5 of digits' 450 test images.
PREMISE_MARGIN = 0.01
# "Recovers" means at least half of batch norm's loss back: the paper's smaller recovery, microbatch 4, took
# back 2.3 of 4.1 points (56%); non-i.i.d. all of it.
RECOVERED_SHARE = 0.5
# A train/eval output gap difference below this changes no class probability by more than a point (the total
# variation distance bounds the change in every event's probability), too small to call renorm's gap smaller.
GAP_MARGIN = 0.01
# "The speed of batch norm": renorm/batch norm step time within 10% either way. Renorm adds element-wise work
# per activation (r, d and one multiply-add), so the paper's "no significant cost" allows a small share; 10% is
# a difference no one would choose a norm by. Judged on log ratios: log(1.1) = 0.0953.
SPEED_MARGIN = math.log(1.10)

YES_NO = {True: "yes", False: "no", None: "cannot tell"}


def trained_floor(classes: int) -> float:
    """The test accuracy batch norm's reference setting (the largest i.i.d. microbatch) must reach before the accuracy
    and gap claims are judged: halfway from chance to perfect (55% on 10 classes), the floor probe and reuse use. The
    paper's reference reaches 78.3% on ImageNet, this MLP 98.8% on digits; a network under it has learned too little
    for a loss at small microbatches, a recovery or a train/eval gap to be about training."""
    return 1 / classes + (1 - 1 / classes) / 2


def by_cell(rows, field: str) -> dict[tuple[str, int | None, str], dict[int, float]]:
    """(norm, microbatch, sampling) -> {seed: getattr(row, field)}."""
    out: dict = {}
    for r in rows:
        out.setdefault((r.norm, r.microbatch, r.sampling), {})[r.seed] = getattr(r, field)
    return out


def _measured(claim: str, measured: str, reproduced: bool | None, reason: str = "",
              fragile: bool = False) -> Finding:
    """A verdict computed from this run's own numbers (the one place that builds the findings)."""
    return Finding(claim=claim, measured=measured, reproduced=reproduced, basis="measured",
                   reason=reason if reproduced is None else "", fragile=fragile)


def where(m: int, sampling: str, k: int | None = None) -> str:
    return f"microbatch {m} " + ("i.i.d." if sampling == "iid" else f"non-i.i.d. (K={k})" if k else "non-i.i.d.")


def hard_settings(rows) -> tuple[tuple[int, str] | None, list[tuple[int, str]]]:
    """(reference, hard settings) among batch norm's: the largest i.i.d. microbatch is the reference; the
    smallest i.i.d. microbatch (when smaller) and every non-i.i.d. one are where the paper expects a loss."""
    cells = {(r.microbatch, r.sampling) for r in rows if r.norm == "batch"}
    iid = sorted(m for m, s in cells if s == "iid")
    if not iid:
        return None, []
    hard = [(iid[0], "iid")] if iid[0] < iid[-1] else []
    return (iid[-1], "iid"), hard + sorted((m, s) for m, s in cells if s == "non-iid")


def _overall(verdicts: list[bool | None], fragile: list[bool]) -> tuple[bool | None, bool]:
    """Every setting must hold; fragile when a setting that decides the overall verdict is."""
    v = all_of(verdicts)
    deciding = [f for x, f in zip(verdicts, fragile) if x is v]
    if v is True:
        return v, any(deciding)
    return v, bool(deciding) and all(deciding) if v is False else False


def _pct(p, unit=" points") -> str:
    return p.text(100.0, unit)


def _premise(acc, ref, hard, k, analysis) -> tuple[list[Finding], dict]:
    """Batch norm's loss (reference - hard, paired by seed) at 95%: shown above 0, or below PREMISE_MARGIN."""
    base = acc[("batch", *ref)]
    states, parts, out, verdicts, fragile = {}, [], [], [], []
    for h in hard:
        a = acc[("batch", *h)]
        p = paired_seeds(base, a)
        v, f = shown_or_bounded_fragile(p, PREMISE_MARGIN)
        states[h] = v
        verdicts.append(v)
        fragile.append(f)
        out.append({"microbatch": h[0], "sampling": h[1], "loss": p.mean, "half_width_95": p.half_width,
                    "per_seed": p.diffs, "verdict": v, "fragile": f})
        parts.append(f"{where(*h, k)} {100 * mean(a.values()):.1f} ± {100 * sd(a.values()):.1f}% (loss "
                     f"{_pct(p)}: {YES_NO[v]}{', fragile' if f else ''})")
    analysis["premise"] = out
    v, f = _overall(verdicts, fragile)
    measured = (f"batch norm's eval-mode test accuracy, mean ± SD over {len(base)} seeds: {where(*ref)} "
                f"{100 * mean(base.values()):.1f} ± {100 * sd(base.values()):.1f}%; " + "; ".join(parts)
                + f" (yes: in every setting the 95% interval of the paired loss lies above 0; no: in one its "
                  f"one-sided 95% upper bound is under {100 * PREMISE_MARGIN:g} point, a quarter of the paper's "
                  f"smallest loss)")
    return [_measured("Batch norm loses accuracy at small or non-i.i.d. microbatches (Ioffe 2017's premise)",
                      measured, v, "the loss's 95% interval is wider than the margin in some setting", f)], states


def _recovery(acc, ref, hard, states, k, analysis) -> list[Finding]:
    """Where batch norm's loss is shown: renorm's paired gain minus RECOVERED_SHARE of the loss, at 95%."""
    claim = "Batch renorm recovers what batch norm loses at small and non-i.i.d. microbatches (Ioffe 2017)"
    base = acc[("batch", *ref)]
    parts, verdicts, fragile, out = [], [], [], []
    for h in hard:
        bn, brn = acc[("batch", *h)], acc[("renorm", *h)]
        gain = paired_seeds(brn, bn)
        text = f"{where(*h, k)} {_pct(gain)}"
        entry = {"microbatch": h[0], "sampling": h[1], "paired_gain": gain.mean, "half_width_95": gain.half_width,
                 "per_seed": gain.diffs}
        if states[h] is True:
            seeds = sorted(set(base) & set(bn) & set(brn))
            # per seed: gain - share x loss > 0 <=> at least that share of the loss recovered
            excess = paired_values([(brn[s] - bn[s]) - RECOVERED_SHARE * (base[s] - bn[s]) for s in seeds])
            share = gain.mean / mean(base[s] - bn[s] for s in seeds)
            v = True if excess.above_zero else False if excess.below_zero else None
            f = v is not None and fragile_bound(excess.mean + (-1 if v else 1) * excess.half_width, 0.0,
                                                standard_error(excess))
            verdicts.append(v)
            fragile.append(f)
            entry.update(share_of_loss=share, excess_over_share=excess.mean, excess_half_width_95=excess.half_width,
                         verdict=v)
            text += (f", {share:.0%} of batch norm's loss (gain − {RECOVERED_SHARE:g} × loss "
                     f"{_pct(excess)}): {YES_NO[v]}{', fragile' if f else ''}")
        else:
            text += (", where batch norm's loss is not shown: not judged" if states[h] is None
                     else ", where batch norm lost nothing: nothing to recover")
        out.append(entry)
        parts.append(text)
    analysis["recovery"] = out
    head = "renorm − batch norm, eval-mode test accuracy, paired by seed (same initial weights and minibatches): "
    if not verdicts:
        return [_measured(claim, "batch norm's loss is shown in no small or non-i.i.d. setting (finding above): "
                          "there is nothing to recover; " + head + "; ".join(parts), None,
                          "the premise failed: batch norm's loss is shown in no setting (premise no or cannot "
                          "tell), so there is nothing to recover")]
    v, f = _overall(verdicts, fragile)
    rule = (f" (yes: in every setting where batch norm's loss is shown, the 95% interval of gain − "
            f"{RECOVERED_SHARE:g} × loss lies above 0, at least {RECOVERED_SHARE:.0%} of the loss recovered as in "
            f"the paper's smaller recovery, 56%; no: it lies below 0 in one)")
    return [_measured(claim, head + "; ".join(parts) + rule, v,
                      "in a setting the interval of the recovered share straddles the threshold", f)]


def _gap(tv, hard, k, analysis) -> list[Finding]:
    """Batch norm's train/eval output gap minus renorm's, paired by seed, at 95% against GAP_MARGIN."""
    parts, verdicts, fragile, out = [], [], [], []
    for h in hard:
        bn, brn = tv[("batch", *h)], tv[("renorm", *h)]
        p = paired_seeds(bn, brn)
        v, f = shown_or_bounded_fragile(p, GAP_MARGIN)
        verdicts.append(v)
        fragile.append(f)
        out.append({"microbatch": h[0], "sampling": h[1], "batch": mean(bn.values()), "renorm": mean(brn.values()),
                    "paired_difference": p.mean, "half_width_95": p.half_width, "verdict": v})
        parts.append(f"{where(*h, k)} {mean(bn.values()):.3f} vs {mean(brn.values()):.3f} (paired difference "
                     f"{p.mean:+.3f} ± {p.half_width:.3f}, 95% interval: {YES_NO[v]}"
                     f"{', fragile' if f else ''})")
    analysis["output_gap_tv"] = out
    v, f = _overall(verdicts, fragile)
    return [_measured("Training with batch renorm sees the inference function: its train/eval output gap is smaller "
                      "than batch norm's at small and non-i.i.d. microbatches (Ioffe 2017)",
                      "mean total-variation distance (0 to 1) between batch-statistics and eval-mode softmax outputs "
                      "on test minibatches drawn like the training ones, batch norm vs renorm: " + "; ".join(parts)
                      + f" (yes: in every setting the 95% interval of batch norm's gap minus renorm's lies above 0; "
                        f"no: in one its one-sided 95% upper bound is under {GAP_MARGIN:g}, a change of no class "
                        f"probability by a point)", v, "the gap difference's interval is wider than the margin", f)]


def _step_cost(timing: dict, config, analysis, eager: dict | None = None) -> list[Finding]:
    """Per interleaved block: log(renorm / batch norm) minus log(batch norm's copy / batch norm), the
    self-comparison bias; two one-sided tests of the blocks' mean against +-SPEED_MARGIN. eager: microbatch ->
    None where the three models ran torch.compile'd, else why they ran eager."""
    if not timing:
        return []
    eager = eager or {}
    parts, verdicts, fragile, out = [], [], [], {}
    for m, t in sorted(timing.items()):
        raw = [math.log(r / b) for r, b in zip(t["renorm"], t["batch"])]
        bias = [math.log(a / b) for a, b in zip(t["batch again"], t["batch"])]
        p = paired_values([x - y for x, y in zip(raw, bias)])
        lo, hi = one_sided_bounds(p)
        v = equivalent(p, SPEED_MARGIN)
        se = standard_error(p)
        f = (v is True and (fragile_bound(hi, SPEED_MARGIN, se) or fragile_bound(lo, -SPEED_MARGIN, se))) or \
            (v is False and fragile_bound(lo if lo > SPEED_MARGIN else hi, SPEED_MARGIN if lo > SPEED_MARGIN
                                          else -SPEED_MARGIN, se))
        verdicts.append(v)
        fragile.append(bool(f))
        out[str(m)] = {"renorm_over_batch": math.exp(mean(raw)), "batch_again_over_batch": math.exp(mean(bias)),
                       "corrected_ratio": math.exp(p.mean), "interval_90": [math.exp(lo), math.exp(hi)],
                       "verdict": v, "blocks_ms": t, "compiled": m in eager and eager[m] is None,
                       "eager_because": eager.get(m)}
        mode = "" if m not in eager else " (compiled)" if eager[m] is None else f" (eager: {eager[m]})"
        parts.append(f"microbatch {m}{mode}: {math.exp(mean(raw)):.2f}x, batch norm against its copy "
                     f"{math.exp(mean(bias)):.2f}x, corrected {math.exp(p.mean):.2f}x (90% interval "
                     f"{math.exp(lo):.2f}-{math.exp(hi):.2f}x): {YES_NO[v]}{', fragile' if f else ''}")
    analysis["step_cost"] = out
    v, f = _overall(verdicts, fragile)
    return [_measured("Batch renorm trains at the speed of batch norm (Ioffe 2017)",
                      f"training step time renorm / batch norm, both models torch.compile'd where that works here "
                      f"(else both eager), over {config.timing_blocks} interleaved blocks of "
                      f"{config.timing_steps} steps, each block's ratio divided by batch norm's against an "
                      f"identical copy of itself in that block (the self-comparison bias): " + "; ".join(parts)
                      + f" (yes: at every microbatch the 90% interval, two one-sided tests at 95%, lies within "
                        f"{1 / math.exp(SPEED_MARGIN):.3f}-{math.exp(SPEED_MARGIN):.2f}x, 10% either way; no: it "
                        f"lies outside at one; a noisier machine widens the interval, so it cannot tell sooner)",
                      v, "the step-time interval is wider than the 10% margin: the timing is too noisy to tell", f)]


def findings(rows: list, config, n_train: int, timing: dict | None = None, eager: dict | None = None,
             classes: int | None = None) -> Outcome:
    """The four verdicts (each only when the run has what it needs) and the notes; with `classes`, the accuracy and
    gap verdicts cannot tell when batch norm's reference setting is under the trained floor."""
    analysis: dict = {"paper": PAPER}
    acc, tv = by_cell(rows, "test_accuracy"), by_cell(rows, "output_gap_tv")
    ref, hard = hard_settings(rows)
    k = config.non_iid or None
    found: list[Finding] = []
    short = False
    if ref and hard:
        if min(len(acc[("batch", *c)]) for c in [ref, *hard]) < MIN_SEEDS:
            short = True
        else:
            premise, losses = _premise(acc, ref, hard, k, analysis)
            found += premise
            both = [h for h in hard if ("renorm", *h) in acc and len(acc[("renorm", *h)]) >= MIN_SEEDS]
            if both:
                found += _recovery(acc, ref, both, losses, k, analysis) + _gap(tv, both, k, analysis)
            reference = mean(acc[("batch", *ref)].values())
            if classes and reference < trained_floor(classes):
                for f in found:  # the same measurements, without a verdict
                    f.reproduced, f.fragile = None, False
                    f.reason = (f"the network did not train: batch norm at {where(*ref)} reaches {100 * reference:.1f}% "
                                f"test accuracy, under the {100 * trained_floor(classes):.0f}% floor (halfway from "
                                f"chance to perfect)")
    found += _step_cost(timing or {}, config, analysis, eager)
    return Outcome(found, notes_for(rows, config, n_train, acc, short), analysis)
