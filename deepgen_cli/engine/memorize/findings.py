"""Zhang et al.'s claims checked against the rows of a `memorize` run; claims the run did not test get no verdict."""

from __future__ import annotations

import dataclasses
import statistics

from deepgen_cli.engine.outcome import Finding, Outcome

FIT_ACCURACY = 0.999  # "fits": training accuracy at least 99.9%
CHANCE_POINTS = 0.02  # "falls to chance": test accuracy within 2 points of 1/classes...
CHANCE_SDS = 3.0  # ...or within 3 binomial SDs of a guesser's accuracy, whichever is wider
RISE_SLACK = 0.02  # test error may dip by up to 2 points between neighbouring levels (about one binomial SD)
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
        by_level.setdefault(r.noise, []).append(r)
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


def findings(rows: list, config) -> Outcome:
    out, notes = [], []
    if not rows:  # every level failed: nothing was measured, so nothing is claimed
        return Outcome([], ["no level finished; see the error column"], {})
    rows, spread = level_means(rows)
    seeds = max(len(v["seeds"]) for v in spread.values())
    if seeds > 1:
        notes.append(f"verdicts use the mean over {seeds} seeds per level; mean ± SD: " + "; ".join(
            f"p={p}: test acc {_pct(v['test_accuracy']['mean'])} ± {_pct(v['test_accuracy']['sd'])}, "
            f"train acc {_pct(v['train_accuracy']['mean'])} ± {_pct(v['train_accuracy']['sd'])}"
            for p, v in spread.items()))
    kind = config.corruption
    what = "random labels" if kind in LABEL_KINDS else kind.replace("-", " ")
    top = rows[-1]
    if top.noise > 0:
        out.append(Finding(
            f"{config.model} fits {what} (train accuracy >= 99.9%)",
            f"train accuracy {_pct(top.train_accuracy)} at p={top.noise:g} ({kind}, "
            f"{top.changed_fraction:.1%} of examples changed) after {_n(top.epochs_run)} epochs",
            top.train_accuracy >= FIT_ACCURACY, "measured"))
    full = [r for r in rows if r.noise == 1.0]
    if kind in LABEL_KINDS and full:
        r = full[0]
        chance = 1 / r.num_classes
        sd = (chance * (1 - chance) / max(r.test_examples, 1)) ** 0.5  # spread of a guesser's accuracy
        # 2 points is the paper-scale tolerance (CIFAR-10's 10,000 test images: SD 0.3 points); on a small
        # test set a guesser strays further, so the band widens to 3 binomial SDs (digits: 4.2 points).
        band = max(CHANCE_POINTS, CHANCE_SDS * sd)
        out.append(Finding(
            "Test accuracy falls to chance at p=1 (within max(2 points, 3 binomial SD) of 1/classes)",
            f"test accuracy {_pct(r.test_accuracy)} vs chance {_pct(chance)} on {r.test_examples} test examples: "
            f"{100 * (r.test_accuracy - chance):+.1f} points, band ±{100 * band:.1f} (binomial SD {100 * sd:.1f})",
            abs(r.test_accuracy - chance) <= band + 1e-9, "measured"))  # 0.1 - 0.08 is 0.020000000000000004
    if len(rows) >= 2:
        errors = [1 - r.test_accuracy for r in rows]
        dips = [b - a for a, b in zip(errors, errors[1:]) if b < a - RISE_SLACK]
        series = ", ".join(f"p={r.noise:g}: {_pct(e)}" for r, e in zip(rows, errors))
        out.append(Finding(
            "Test error rises with the noise level p",
            f"test error {series}" + (f"; falls by {100 * -min(dips):.1f} points between levels" if dips else ""),
            errors[-1] > errors[0] and not dips, "measured"))
    clean = [r for r in rows if r.noise == 0.0]
    if clean and full:
        c, f = clean[0], full[0]
        if c.fit_steps and f.fit_steps:
            factor = f.fit_steps / c.fit_steps
            out.append(Finding(
                f"{what.capitalize()} take longer to fit than true data (a slowdown factor)",
                f"{_n(f.fit_epoch)} epochs ({f.fit_time_s:.2f} s) at p=1 vs {_n(c.fit_epoch)} ({c.fit_time_s:.2f} s) at p=0: "
                f"{factor:.2f}x the optimizer steps",
                factor > 1.0, "measured"))
        else:
            missing = [f"p={r.noise:g}" for r in (c, f) if not r.fit_steps]
            notes.append(f"slowdown not measured: {', '.join(missing)} did not reach 100% training accuracy "
                         f"within {config.epochs} epochs; raise --epochs")
    unfit = [r for r in rows if r.fit_epoch is None]
    if unfit and config.until_fit:
        notes.append(f"not fit within {config.epochs} epochs: "
                     + ", ".join(f"p={r.noise:g} ({_pct(r.train_accuracy)})" for r in unfit))
    if kind not in LABEL_KINDS:
        notes.append("test images are clean: a model trained on corrupted images is scored on real ones")
    analysis = {"test_error_by_noise": {f"{r.noise:g}": 1 - r.test_accuracy for r in rows},
                "fit_epoch_by_noise": {f"{r.noise:g}": r.fit_epoch for r in rows},
                "by_noise": spread}
    return Outcome(out, notes, analysis)
