"""Claims about explicit regularization, checked on a --regularizer sweep: Zhang et al. (2017, Table 1), Pereyra et
al. (2017) and Arpit et al. (2017). A claim gets a verdict only when the run has the regularizers and levels it
compares; comparisons between regularizers are paired by seed (same initial weights, corruption, batch order).
"""

from __future__ import annotations

import math
import statistics

from deepgen_cli.engine.memorize.levels import FIT_ACCURACY, LABEL_KINDS, _n, _pct
from deepgen_cli.engine.memorize.verdicts import Verdict, above, all_of, below, bounds_text, no_worse, untrained
from deepgen_cli.engine.stats import NEEDS_SEEDS, binomial_sd, paired_seeds as paired
from deepgen_cli.engine.outcome import Finding, Outcome

# Zhang et al.'s "not necessary" margin (non-inferiority of no regularization against the best regularizer): the
# largest test-accuracy gain from explicit regularization in their Table 1 that they still read as "not necessary"
# (AlexNet: 81.22% with crop and weight decay, 76.07% without).
NOT_NECESSARY = 0.0515
# "Does not hurt" (non-inferiority): at most 1 point more test error. Pereyra et al.'s regularizers differ by 0.11
# points on MNIST (dropout 1.28%, penalty 1.17%) and 0.27 on CIFAR-10 (7.04%, 6.77%): a cost of a whole point is
# more than three times any difference they report between regularizers, harm by any reading of their tables.
NO_HARM = 0.01
# Under-confident: mean max probability below the accuracy by more than 2 binomial SDs of the accuracy (0.8 points at
# 97% on 450 test images): lower than the test sample's own spread explains.
UNDER_SDS = 2.0
CP, LS, DROPOUT = "confidence-penalty", "label-smoothing", "dropout"


def _index(rows: list) -> dict:
    """{(corruption, regularizer, p): {seed: row}}."""
    out: dict = {}
    for r in rows:
        out.setdefault((r.corruption, getattr(r, "regularizer", "none"), r.noise), {})[r.seed] = r
    return out


def _values(group: dict, key: str) -> dict:
    return {s: getattr(r, key) for s, r in group.items()}


def _mean(group: dict, key: str) -> float | None:
    values = [getattr(r, key) for r in group.values()]
    return None if not values or any(v is None for v in values) else statistics.fmean(values)


def regularizer_findings(rows: list, config) -> Outcome:
    idx = _index(rows)
    regs = list(dict.fromkeys(getattr(r, "regularizer", "none") for r in rows))
    if len(regs) < 2:
        return Outcome([], [], {})
    model = getattr(config, "network", getattr(config, "model", rows[0].model))
    clean_kind = next((k for k, _, p in idx if p == 0.0), None)  # p=0 of any corruption is the clean data
    label_kind = next((k for k, _, p in idx if p == 1.0 and k in LABEL_KINDS), None)
    at = lambda kind, reg, p: idx.get((kind, reg, p), {})  # noqa: E731
    out, notes, table = [], [], {}
    clean = {reg: at(clean_kind, reg, 0.0) for reg in regs if at(clean_kind, reg, 0.0)}
    for reg, group in clean.items():
        table[reg] = {key: _mean(group, key)
                      for key in ("test_accuracy", "ece", "confident_fraction", "test_mean_confidence")}

    floor = untrained(clean["none"].values(), "without regularization the network") if "none" in clean else None

    # 1. Zhang: explicit regularization is not necessary for generalization (non-inferiority of none)
    others = [reg for reg in clean if reg != "none"]
    if "none" in clean and others:
        best = max(others, key=lambda reg: table[reg]["test_accuracy"])
        gain = table[best]["test_accuracy"] - table["none"]["test_accuracy"]
        diff = paired(_values(clean[best], "test_accuracy"), _values(clean["none"], "test_accuracy"))
        out.append((floor or no_worse(diff, NOT_NECESSARY)).finding(
            f"Explicit regularization is not necessary for generalization: at p=0 the unregularized model's test "
            f"accuracy is within {100 * NOT_NECESSARY:.2f} points of the best regularized one (Zhang et al. Table 1's "
            f"largest such gap; non-inferiority at 95%, paired by seed)",
            "test accuracy at p=0 (seed means): " + ", ".join(f"{r} {_pct(table[r]['test_accuracy'])}" for r in clean)
            + f"; best regularized: {best}, {100 * gain:+.1f} points over none (paired: {bounds_text(diff)})"))

    # 2. Zhang: regularization does not prevent memorization
    if label_kind:
        base = at(label_kind, "none", 1.0)
        base_fit = _mean(base, "fit_epoch") if base else None
        for reg in regs:
            group = at(label_kind, reg, 1.0)
            if reg == "none" or not group:
                continue
            acc, fit = _mean(group, "train_accuracy"), _mean(group, "fit_epoch")
            unfit = sum(r.fit_epoch is None for r in group.values())
            when = (f"fit at epoch {_n(fit)}" if fit is not None else
                    f"{unfit} of {len(group)} seeds not fit as trained within {_n(_mean(group, 'epochs_run'))} epochs")
            each = {r.train_accuracy >= FIT_ACCURACY for r in group.values()}
            out.append(Verdict(acc >= FIT_ACCURACY, fragile=len(each) > 1).finding(
                f"Regularization does not prevent memorization: {model} with {reg} still fits random labels "
                f"({label_kind} at p=1; train accuracy >= 99.9%)",
                f"train accuracy {_pct(acc)} (seed mean); {when}"
                + (f"; without regularization fit at epoch {_n(base_fit)}" if base_fit is not None else "")))

    # 3. Pereyra: the confidence penalty lowers over-confidence, judged by expected calibration error
    if "none" in clean and CP in clean:
        ece = paired(_values(clean[CP], "ece"), _values(clean["none"], "ece"))
        share = paired(_values(clean[CP], "confident_fraction"), _values(clean["none"], "confident_fraction"))
        if ece is None and table[CP]["ece"] is None:  # streamed rows carry no calibration
            notes.append("the confidence penalty's over-confidence verdict needs the test-set calibration figures, "
                         "which the streamed path does not measure; add --data-in-memory yes")
        else:
            out.append(calibration_finding(clean, table, ece, share, floor))

    # 4. Pereyra: the confidence penalty does not hurt test error, and slightly improves it
    bases = [reg for reg in ("none", LS) if reg in clean]
    if CP in clean and bases:
        error = {reg: {s: 1 - a for s, a in _values(clean[reg], "test_accuracy").items()} for reg in clean}
        diffs = {reg: paired(error[CP], error[reg]) for reg in bases}
        said = "; ".join(f"penalty - {reg}: {bounds_text(d)}" for reg, d in diffs.items())
        errors = ", ".join(f"{reg} {_pct(1 - table[reg]['test_accuracy'])}" for reg in (CP, *bases))
        vs = " and ".join(bases)
        trained = [untrained(clean[reg].values(), f"with {reg} the network") for reg in bases]
        gate = next((v for v in trained if v), None)
        out.append((gate or all_of(*(no_worse(d, NO_HARM) for d in diffs.values()))).finding(
            f"The confidence penalty does not hurt test error against {vs} (non-inferiority at 95%, paired by "
            f"seed: at most {100 * NO_HARM:g} point more error, more than three times Pereyra's largest difference "
            f"between regularizers)",
            f"test error at p=0 (seed means): {errors}; {said}"))
        out.append((gate or all_of(*(below(d) for d in diffs.values()))).finding(
            f"The confidence penalty lowers test error against {vs} (Pereyra's MNIST table: 1.17% vs 1.28% "
            f"dropout, 1.23% label smoothing; the 95% interval of the paired difference below 0)",
            f"test error at p=0 (seed means): {errors}; "
            + "; ".join(f"penalty - {reg}: {d.text()}" for reg, d in diffs.items())))

    # 5. Arpit: dropout hinders fitting noise more than learning real data
    arpit = arpit_finding(at(clean_kind, "none", 0.0), at(clean_kind, DROPOUT, 0.0),
                          at(label_kind, "none", 1.0), at(label_kind, DROPOUT, 1.0)) if label_kind else None
    if isinstance(arpit, Finding):
        out.append(arpit)
    elif arpit:
        notes.append(arpit)
    return Outcome(out, notes, {"by_regularizer": table})


def calibration_finding(clean: dict, table: dict, ece, share, floor) -> Finding:
    """Lower ECE with the penalty than without at 95%, and the penalized model not under-confident."""
    def lean(reg):  # mean max probability against accuracy: which way the model is miscalibrated
        return table[reg]["test_mean_confidence"] - table[reg]["test_accuracy"]

    acc, n = table[CP]["test_accuracy"], next(iter(clean[CP].values())).test_examples
    under = lean(CP) < -UNDER_SDS * binomial_sd(acc, n)
    moved = ("better" if table[CP]["ece"] < table["none"]["ece"] else "worse") + (
        ", under-confident" if under else ", over-confident" if lean(CP) > 0 else "")
    gate = floor or untrained(clean[CP].values(), "with the confidence penalty the network")
    v = gate or (Verdict(False) if under else below(ece))
    return v.finding(
        "The confidence penalty lowers over-confidence: lower expected calibration error (15 bins) on the test set "
        "than without regularization at 95%, paired by seed, without becoming under-confident (mean confidence "
        f"below accuracy by over {UNDER_SDS:g} binomial SDs) (Pereyra et al. 2017, Figure 1)",
        "expected calibration error (seed means): " + ", ".join(f"{r} {v['ece']:.3f}" for r, v in table.items())
        + f"; penalty - none: {ece.text()}; calibration moved {moved}. Mean confidence - accuracy: none "
        f"{100 * lean('none'):+.1f} points, penalty {100 * lean(CP):+.1f} (below 0: under-confident). Share of test "
        "predictions at >= 0.99: " + ", ".join(f"{r} {_pct(v['confident_fraction'])}" for r, v in table.items())
        + f"; penalty - none: {share.text()}")


def _epochs(group: dict) -> dict:
    """Epochs to fit per seed; where a seed did not fit, the epochs it ran (a lower bound)."""
    return {s: r.fit_epoch or r.epochs_run for s, r in group.items()}


def arpit_finding(none0: dict, drop0: dict, none1: dict, drop1: dict):
    """The Finding, a note saying why there is none, or None when the run lacks dropout or a level."""
    if not (none0 and drop0 and none1 and drop1):
        return None
    if any(r.fit_epoch is None for g in (none0, none1) for r in g.values()):
        return "dropout vs memorization not measured: the unregularized model did not fit every seed; raise --epochs"
    if any(r.fit_epoch is None for r in drop0.values()):
        # its epochs run would understate the true-label slowdown and so overstate the ratio: no bound either way
        return ("dropout vs memorization not measured: with dropout the true labels were not fit in every seed; "
                "raise --epochs")
    log_slow = {}
    for p, (base, drop) in {0: (none0, drop0), 1: (none1, drop1)}.items():
        b, d = _epochs(base), _epochs(drop)
        log_slow[p] = {s: math.log(d[s] / b[s]) for s in b if s in d}
    more = paired(log_slow[1], log_slow[0])  # log(noise slowdown / real slowdown) per seed
    real = paired(_values(drop0, "test_accuracy"), _values(none0, "test_accuracy"))
    if more is None or real is None or more.n < 2:
        return f"dropout vs memorization {NEEDS_SEEDS}"
    harm = paired(_values(none0, "test_accuracy"), _values(drop0, "test_accuracy"))  # accuracy dropout costs
    v = (untrained(none0.values(), "without regularization the network")
         or all_of(above(more, 0.0, 1.0, ""), no_worse(harm, NO_HARM)))
    unfit = sum(r.fit_epoch is None for r in drop1.values())
    factor = lambda v: math.exp(statistics.fmean(v.values()))  # noqa: E731  geometric mean over seeds
    lo, hi = math.exp(more.mean - more.half_width), math.exp(more.mean + more.half_width)
    return v.finding(
        "Dropout hinders fitting noise more than learning real data: it slows fitting random labels by a larger "
        "factor than fitting true labels (95% interval of the log ratio above 0), and real-label test accuracy drops "
        f"by at most {100 * NO_HARM:g} point (non-inferiority at 95%) (Arpit et al. 2017)",
        f"epochs to fit with dropout / without: random labels {factor(log_slow[1]):.2f}x"
        + (f" (at least: {unfit} of {len(drop1)} seeds not fit as trained)" if unfit else "")
        + f", true labels {factor(log_slow[0]):.2f}x; ratio {math.exp(more.mean):.2f}x (95% interval {lo:.2f}x to "
        f"{hi:.2f}x, {more.n} seeds); train accuracy at p=1 with dropout {_pct(_mean(drop1, 'train_accuracy'))}; "
        f"real-label test accuracy, dropout - none: {real.text()}")
