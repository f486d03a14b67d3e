"""The claims about noise levels (fit, chance at p=1, rising error, slowdown), checked on one group of a
`memorize` run's rows (one corruption, one regularizer), with the thresholds and formatting the other verdicts
share."""

from __future__ import annotations

import dataclasses
import statistics

from deepgen_cli.engine.outcome import Finding
from deepgen_cli.engine.stats import binomial_sd

FIT_ACCURACY = 0.999  # "fits": training accuracy at least 99.9%
CHANCE_POINTS = 0.02  # "falls to chance": test accuracy within 2 points of 1/classes...
CHANCE_SDS = 3.0  # ...or within 3 binomial SDs of a guesser's accuracy, whichever is wider
RISE_SLACK = 0.02  # test error may dip by up to 2 points between neighbouring levels (about one binomial SD)
# "a small constant factor" (Zhang et al. on the slowdown of random labels): below an order of magnitude. Their
# Figure 1b has a few-fold slowdown at full corruption; 10x would no longer be "small" by any reading.
SMALL_FACTOR = 10.0
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
    top = rows[-1]
    if top.noise > 0:
        ran = f"{_n(top.epochs_run)} epochs run"
        when = (f"fit at epoch {_n(top.fit_epoch)}" + (f" of {ran}" if top.fit_epoch != top.epochs_run else "")
                if top.fit_epoch else f"not fit as trained in {ran}")
        out.append(Finding(
            f"{scope}{config.model}{with_reg} fits {_what(kind, top.noise)} ({kind} at p={top.noise:g}; "
            f"train accuracy >= 99.9%)",
            f"train accuracy {_pct(top.train_accuracy)} at p={top.noise:g} ({kind}, "
            f"{top.changed_fraction:.1%} of examples changed); {when}",
            top.train_accuracy >= FIT_ACCURACY, "measured"))
    full = [r for r in rows if r.noise == 1.0]
    label_test = kind in LABEL_KINDS and not getattr(config, "corrupt_test", False)
    if kind in LABEL_KINDS and getattr(config, "corrupt_test", False):
        notes.append(f"{scope}--corrupt-test: test accuracy is against redrawn test labels, so the claims about a "
                     "clean test set (chance at p=1, error rising with p) get no verdict")
    if label_test and full:
        r = full[0]
        chance = 1 / r.num_classes
        sd = binomial_sd(chance, r.test_examples)  # spread of a guesser's accuracy
        # 2 points is the paper-scale tolerance (CIFAR-10's 10,000 test images: SD 0.3 points); on a small
        # test set a guesser strays further, so the band widens to 3 binomial SDs (digits: 4.2 points).
        band = max(CHANCE_POINTS, CHANCE_SDS * sd)
        out.append(Finding(
            f"{scope}Test accuracy falls to chance at p=1 (within max(2 points, 3 binomial SD) of 1/classes)",
            f"test accuracy {_pct(r.test_accuracy)} vs chance {_pct(chance)} on {r.test_examples} test examples: "
            f"{100 * (r.test_accuracy - chance):+.1f} points, band ±{100 * band:.1f} (binomial SD {100 * sd:.1f})",
            abs(r.test_accuracy - chance) <= band + 1e-9, "measured"))  # 0.1 - 0.08 is 0.020000000000000004
    # Zhang's Figure 1c: error against the level on a clean test set. Shuffled pixels shuffle the test images too,
    # so p changes the test set as well and the claim does not apply.
    if len(rows) >= 2 and (label_test or kind in ("random-pixels", "gaussian")):
        errors = [1 - r.test_accuracy for r in rows]
        dips = [b - a for a, b in zip(errors, errors[1:]) if b < a - RISE_SLACK]
        series = ", ".join(f"p={r.noise:g}: {_pct(e)}" for r, e in zip(rows, errors))
        out.append(Finding(
            f"{scope}Test error rises with the noise level p",
            f"test error {series}" + (f"; falls by {100 * -min(dips):.1f} points between levels" if dips else ""),
            errors[-1] > errors[0] and not dips, "measured"))
    factors = slowdown(group)
    clean = [r for r in rows if r.noise == 0.0]
    if clean and full and kind not in LABEL_KINDS and "1" in factors:
        # Zhang et al. claim the slowdown for random labels; image corruptions may fit faster (their Figure 1a)
        notes.append(f"{scope}steps to fit over those at p=0, per seed (mean ± SD): " + ", ".join(
            f"p={p}: {v['mean']:.2f}x ± {v['sd']:.2f}" for p, v in factors.items()))
    elif clean and full:
        c, f = clean[0], full[0]
        if "1" in factors:
            what = _what(kind, 1.0)
            per_level = ", ".join(f"p={p}: {v['mean']:.2f}x" + (f" ± {v['sd']:.2f}" if v["seeds"] > 1 else "")
                                  for p, v in factors.items())
            top_factor = factors["1"]["mean"]
            out.append(Finding(
                f"{scope}{what[0].upper() + what[1:]} take longer to fit than true data (by a small constant factor: "
                f"1 < steps at p=1 / steps at p=0 <= {SMALL_FACTOR:g})",
                f"optimizer steps to fit over those at p=0, per seed (mean ± SD): {per_level}; "
                f"{_n(f.fit_epoch)} epochs ({f.fit_time_s:.2f} s) at p=1 vs {_n(c.fit_epoch)} ({c.fit_time_s:.2f} s) at p=0",
                1.0 < top_factor <= SMALL_FACTOR, "measured"))
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
