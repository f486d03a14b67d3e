"""The claims about noise levels (fit, chance at p=1, rising error, slowdown), checked on one group of a
`memorize` run's rows (one corruption, one regularizer), with the thresholds and formatting the other verdicts
share."""

from __future__ import annotations

import dataclasses
import math
import statistics

from deepgen_cli.engine import stats
from deepgen_cli.engine.memorize.verdicts import Verdict, above, untrained
from deepgen_cli.engine.stats import NEEDS_SEEDS, binomial_sd, paired_seeds

FIT_ACCURACY = 0.999  # "fits": training accuracy at least 99.9%
# "Falls to chance" is an equivalence claim: the seeds' 90% interval of test accuracy - 1/classes (two one-sided
# tests at 95%) lies within a margin of 2 points (the paper scale: Zhang et al.'s random-label test accuracies are
# within 0.6 points of 10% on 10,000 images)...
CHANCE_POINTS = 0.02
CHANCE_SDS = 3.0  # ...or 3 binomial SDs of a guesser's accuracy on this test set, whichever is wider (digits: 4.2)
RISE_SLACK = 0.02  # test error may dip by up to 2 points between neighbouring levels (about one binomial SD)
# The slowdown has no upper bound: Zhang et al. say "a small constant factor" and publish no number for it.
LABEL_KINDS = ("labels", "random-labels")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _n(x: float) -> str:
    """An epoch count, or a mean of them over seeds: 66 or 67.3."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


SPREAD_KEYS = ("train_accuracy", "test_accuracy", "gap", "fit_epoch", "fit_time_s")
# Measurements averaged over seeds; counts such as test_examples are the same for every seed.
AVERAGED = ("changed_fraction", "train_accuracy", "test_accuracy", "gap", "fit_epoch", "fit_steps", "fit_time_s",
            "epochs_run", "train_time_s", "final_train_loss", "mean_entropy", "test_mean_entropy", "test_loss")


def _mean(values):
    return None if any(v is None for v in values) else statistics.fmean(values)


def level_means(rows: list) -> tuple[list, dict]:
    """One row per noise level with each number the mean over its seeds (a fit only if every seed fit), and
    per level the mean, SD and seed count of the headline numbers."""
    by_level: dict[float, list] = {}
    for r in rows:
        by_level.setdefault(r.noise, []).append(r)  # within one group: one corruption and regularizer
    means, spread = [], {}
    for p, group in sorted(by_level.items()):
        numeric = {key: _mean([getattr(r, key) for r in group]) for key in AVERAGED}
        means.append(dataclasses.replace(group[0], **numeric))
        stats = {}
        for key in SPREAD_KEYS:  # each is averaged above; None where some seed has no value (did not fit)
            if numeric[key] is not None:
                values = [getattr(r, key) for r in group]
                stats[key] = {"mean": numeric[key], "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
        spread[f"{p:g}"] = {"seeds": [r.seed for r in group], **stats}
    return means, spread


def grouped(rows: list) -> dict[tuple[str, str], list]:
    """Rows by (corruption, regularizer), in run order."""
    out: dict[tuple[str, str], list] = {}
    for r in rows:
        out.setdefault((r.corruption, getattr(r, "regularizer", "none")), []).append(r)
    return out


def baselines(groups: dict) -> dict[str, str]:
    """Per corruption, the regularizer its level claims are checked on: none if the run has it, else the first."""
    out: dict[str, str] = {}
    for kind, reg in groups:
        if kind not in out or reg == "none":
            out[kind] = reg
    return out


def slowdown(rows: list) -> dict[str, dict]:
    """Per level p > 0: optimizer steps to fit at p over steps at p=0 for the same seed, mean and SD over seeds;
    measured only where every seed fit at both levels."""
    steps = {(r.noise, r.seed): r.fit_steps for r in rows}
    seeds = sorted({r.seed for r in rows})
    out = {}
    for p in sorted({r.noise for r in rows} - {0.0}):
        factors = [steps[(p, s)] / steps[(0.0, s)] for s in seeds
                   if steps.get((p, s)) and steps.get((0.0, s))]
        if factors and len(factors) == len(seeds):
            out[f"{p:g}"] = {"mean": statistics.fmean(factors), "sd": statistics.stdev(factors) if len(factors) > 1
                             else 0.0, "seeds": len(factors)}
    return out


def _per_epoch(row) -> float:
    return row.fit_steps / row.fit_epoch  # the fit is checked at epoch ends: the count's resolution, in steps


def slowdown_verdict(clean: dict, full: dict) -> tuple[Verdict, str]:
    """Random labels take longer to fit: the paired interval over seeds of log(steps at p=1 / steps at p=0) above 0
    at 95%. A fit is seen only at an epoch's end, so each count may overstate the true one by up to an epoch's steps:
    a yes needs the ratio with p=1 an epoch earlier (the least it can be) above 1, a no the ratio with p=0 an epoch
    earlier (the most it can be) below 1; between them the run cannot tell."""
    seeds = sorted(set(clean) & set(full))
    least = {s: math.log(max(full[s].fit_steps - _per_epoch(full[s]), 1) / clean[s].fit_steps) for s in seeds}
    most = {s: math.log(full[s].fit_steps / max(clean[s].fit_steps - _per_epoch(clean[s]), 1)) for s in seeds}
    point = {s: math.log(full[s].fit_steps / clean[s].fit_steps) for s in seeds}
    zero = {s: 0.0 for s in seeds}
    low, high, mid = (paired_seeds(v, zero) for v in (least, most, point))
    if len(seeds) < 2:
        return Verdict(None, reason=NEEDS_SEEDS), "1 seed"
    yes, no = above(low, 0.0, 1.0, ""), above(high, 0.0, 1.0, "")
    if yes.reproduced:
        v = yes
    elif no.reproduced is False:
        v = Verdict(False, no.fragile)
    else:
        v = Verdict(None, reason=f"the least ratio's 95% interval ({math.exp(low.mean - low.half_width):.2f}x to "
                                 f"{math.exp(low.mean + low.half_width):.2f}x) reaches 1x or below, the most ratio's "
                                 f"({math.exp(high.mean - high.half_width):.2f}x to "
                                 f"{math.exp(high.mean + high.half_width):.2f}x) 1x or above: fit counted at epoch "
                                 f"ends, the run cannot tell")
    per = ", ".join(f"{full[s].fit_steps}/{clean[s].fit_steps}" for s in seeds)
    text = (f"steps to fit, p=1/p=0 per seed: {per}; geometric mean {math.exp(mid.mean):.2f}x (95% interval "
            f"{math.exp(mid.mean - mid.half_width):.2f}x to {math.exp(mid.mean + mid.half_width):.2f}x, "
            f"{mid.n} seeds); "
            f"{_n(_per_epoch(full[seeds[0]]))} steps an epoch, so the least ratio is "
            f"{math.exp(low.mean):.2f}x (lower 95% bound {math.exp(low.mean - low.half_width):.2f}x)")
    return v, text


def chance_verdict(full: dict) -> tuple[Verdict, str]:
    """Test accuracy at p=1 equals chance within the margin (TOST on the seeds' accuracies); null when the model
    did not fit the random labels (it has not memorized them) or one seed leaves the draws' spread unmeasured."""
    rows = list(full.values())
    k, n = rows[0].num_classes, rows[0].test_examples
    chance = 1 / k
    sd = binomial_sd(chance, n)  # spread of a guesser's accuracy
    margin = max(CHANCE_POINTS, CHANCE_SDS * sd)
    off = {s: r.test_accuracy - chance for s, r in full.items()}
    p = paired_seeds(off, {s: 0.0 for s in off})
    acc = statistics.fmean(r.test_accuracy for r in rows)
    text = (f"test accuracy {_pct(acc)} vs chance {_pct(chance)} on {n} test examples: {100 * p.mean:+.1f} points; "
            f"margin ±{100 * margin:.1f} (a guesser's binomial SD {100 * sd:.1f})")
    fit = statistics.fmean(r.train_accuracy for r in rows)
    if fit < FIT_ACCURACY:
        return Verdict(None, reason=f"the model did not fit the random labels (train accuracy {_pct(fit)}): the claim "
                                    f"is about a network that memorized them"), text
    if p.n < 2:
        return Verdict(None, reason=NEEDS_SEEDS + "; one seed leaves out the spread between random-label draws"), text
    lo, hi = stats.one_sided_bounds(p)
    text += (f"; 90% interval {100 * lo:+.1f} to {100 * hi:+.1f} points over {p.n} seeds (seed SD {100 * p.sd:.1f} "
             f"points: the random-label draws and the test sample together)")
    result = stats.equivalent(p, margin)
    if result is None:
        return Verdict(None, reason=f"the 90% interval, {100 * lo:+.1f} to {100 * hi:+.1f} points, reaches past the "
                                    f"margin ±{100 * margin:.1f}: the spread between draws is too wide for {p.n} "
                                    f"seeds"), text
    bound = max(abs(lo), abs(hi)) if result else min(abs(lo), abs(hi))
    return Verdict(result, stats.fragile_bound(bound, margin, stats.standard_error(p))), text


def rise_verdict(by_level: dict) -> Verdict:
    """Test error rises with p: the top level's error above the lowest's at 95% (paired by seed); no when a neighbour
    falls by more than RISE_SLACK at 95%; null when a mean fall beyond the slack lies within the seed spread."""
    levels = sorted(by_level)
    err = {p: {s: 1 - r.test_accuracy for s, r in by_level[p].items()} for p in levels}
    v = above(paired_seeds(err[levels[-1]], err[levels[0]]))
    for a, b in zip(levels, levels[1:]):
        step = paired_seeds(err[b], err[a])
        if step is None or step.mean >= -RISE_SLACK:
            continue
        shown = step.n >= 2 and step.mean + step.half_width < -RISE_SLACK
        v = Verdict(False) if shown else Verdict(None, reason=f"test error falls by {-100 * step.mean:.1f} points "
                                                              f"from p={a:g} to p={b:g}, within the seed spread")
        if shown:
            break
    return v


def _what(kind: str, p: float) -> str:
    """What a run that fits corruption `kind` at level p has fit."""
    if kind in LABEL_KINDS:
        return "random labels" if p == 1.0 else f"labels with a fraction p={p:g} redrawn"
    name = kind.replace("-", " ").replace("gaussian", "Gaussian images")
    return name + (f" (on a fraction p={p:g})" if p < 1 else "")


def level_findings(group: list, config, kind: str, reg: str, scope: str) -> tuple[list, list, dict]:
    """Zhang et al.'s claims on one group's levels; `scope` prefixes each claim when the run has several groups."""
    out, notes = [], []
    rows, spread = level_means(group)
    seeds = max(len(v["seeds"]) for v in spread.values())
    if seeds > 1:
        notes.append(f"{scope}verdicts use the mean over {seeds} seeds per level; mean ± SD: " + "; ".join(
            f"p={p}: test acc {_pct(v['test_accuracy']['mean'])} ± {_pct(v['test_accuracy']['sd'])}, "
            f"train acc {_pct(v['train_accuracy']['mean'])} ± {_pct(v['train_accuracy']['sd'])}"
            for p, v in spread.items()))
    with_reg = f" with {reg}" if reg != "none" else ""
    by_level: dict[float, dict] = {}
    for r in group:
        by_level.setdefault(r.noise, {})[r.seed] = r
    top = rows[-1]
    if top.noise > 0:
        ran = f"{_n(top.epochs_run)} epochs run"
        when = (f"fit at epoch {_n(top.fit_epoch)}" + (f" of {ran}" if top.fit_epoch != top.epochs_run else "")
                if top.fit_epoch else f"not fit as trained in {ran}")
        each = [r.train_accuracy >= FIT_ACCURACY for r in by_level[top.noise].values()]
        # fitting is its own evidence of training; fragile when the seeds disagree (one more seed may flip the mean)
        out.append(Verdict(top.train_accuracy >= FIT_ACCURACY, fragile=len(set(each)) > 1).finding(
            f"{scope}{getattr(config, 'network', config.model)}{with_reg} fits {_what(kind, top.noise)} ({kind} at p={top.noise:g}; "
            f"train accuracy >= 99.9%)",
            f"train accuracy {_pct(top.train_accuracy)} at p={top.noise:g} ({kind}, "
            f"{top.changed_fraction:.1%} of examples changed); {when}"
            + (f"; {sum(each)} of {len(each)} seeds fit" if len(each) > 1 else "")))
    full = by_level.get(1.0)
    label_test = kind in LABEL_KINDS and not getattr(config, "corrupt_test", False)
    if kind in LABEL_KINDS and getattr(config, "corrupt_test", False):
        notes.append(f"{scope}--corrupt-test: test accuracy is against redrawn test labels, so the claims about a "
                     "clean test set (chance at p=1, error rising with p) get no verdict")
    if label_test and full:
        v, text = chance_verdict(full)
        out.append(v.finding(
            f"{scope}Test accuracy falls to chance at p=1 (the seeds' 90% interval within max(2 points, 3 binomial SD) "
            f"of 1/classes; the model fit the random labels)", text))
    # Zhang's Figure 1c: error against the level on a clean test set. Shuffled pixels shuffle the test images too,
    # so p changes the test set as well and the claim does not apply.
    if len(rows) >= 2 and (label_test or kind in ("random-pixels", "gaussian")):
        errors = [1 - r.test_accuracy for r in rows]
        series = ", ".join(f"p={r.noise:g}: {_pct(e)}" for r, e in zip(rows, errors))
        low = by_level[rows[0].noise]
        v = untrained(low.values(), f"at p={rows[0].noise:g} the network") or rise_verdict(by_level)
        rise = paired_seeds({s: 1 - r.test_accuracy for s, r in by_level[rows[-1].noise].items()},
                            {s: 1 - r.test_accuracy for s, r in low.items()})
        out.append(v.finding(
            f"{scope}Test error rises with the noise level p (top level above the lowest at 95%, paired by seed; "
            f"no fall between neighbours beyond 2 points)",
            f"test error {series}; p={rows[-1].noise:g} - p={rows[0].noise:g}: {rise.text()}"))
    factors = slowdown(group)
    clean = by_level.get(0.0)
    if clean and full and kind not in LABEL_KINDS and "1" in factors:
        # Zhang et al. claim the slowdown for random labels; image corruptions may fit faster (their Figure 1a)
        notes.append(f"{scope}steps to fit over those at p=0, per seed (mean ± SD): " + ", ".join(
            f"p={p}: {v['mean']:.2f}x ± {v['sd']:.2f}" for p, v in factors.items()))
    elif clean and full:
        c, f = rows[0], rows[-1]
        if "1" in factors:
            what = _what(kind, 1.0)
            v, text = slowdown_verdict(clean, full)
            per_level = ", ".join(f"p={p}: {v['mean']:.2f}x" + (f" ± {v['sd']:.2f}" if v["seeds"] > 1 else "")
                                  for p, v in factors.items())
            out.append(v.finding(
                f"{scope}{what[0].upper() + what[1:]} take longer to fit than true data (optimizer steps to fit at "
                f"p=1 over p=0, paired by seed: the 95% interval of the log ratio above 0; no upper bound, the paper "
                f"gives no number for its 'small constant factor')",
                f"{text}; mean ± SD per level: {per_level}; {_n(f.fit_epoch)} epochs ({f.fit_time_s:.2f} s) at p=1 vs "
                f"{_n(c.fit_epoch)} ({c.fit_time_s:.2f} s) at p=0"))
        else:
            missing = [f"p={r.noise:g}" for r in (c, f) if not r.fit_steps]
            notes.append(f"{scope}slowdown not measured: {', '.join(missing) or 'a seed'} did not reach 100% training "
                         f"accuracy within {config.epochs} epochs; raise --epochs")
    unfit = [r for r in rows if r.fit_epoch is None]
    if unfit and config.until_fit:
        notes.append(f"{scope}not fit within {config.epochs} epochs: "
                     + ", ".join(f"p={r.noise:g} ({_pct(r.train_accuracy)})" for r in unfit))
    if kind in ("random-pixels", "gaussian"):
        notes.append(f"{scope}test images are clean: a model trained on corrupted images is scored on real ones")
    if kind == "shuffled-pixels":
        notes.append(f"{scope}test images are shuffled with the training permutation (a fraction p of them), "
                     "as Zhang et al.")
    analysis = {"test_error_by_noise": {f"{r.noise:g}": 1 - r.test_accuracy for r in rows},
                "fit_epoch_by_noise": {f"{r.noise:g}": r.fit_epoch for r in rows},
                "by_noise": spread, "slowdown_by_noise": factors}
    return out, notes, analysis
