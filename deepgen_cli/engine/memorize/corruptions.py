"""Corruptions compared in one run (Zhang et al. 2017, Figure 1a): the order in which they fit, each one's slowdown
against true labels, and whether random pixels and Gaussian images start converging before random labels."""

from __future__ import annotations

import math
import statistics

from deepgen_cli.engine.memorize.levels import LABEL_KINDS, _n
from deepgen_cli.engine.memorize.verdicts import Verdict, all_of, below, untrained
from deepgen_cli.engine.stats import NEEDS_SEEDS, paired_seeds as paired
from deepgen_cli.engine.outcome import Outcome

# "Starts converging": the first epoch whose mean training loss is below half of ln(classes), the loss of a uniform
# guess. A fixed level of the loss curve, the same for every corruption, read off Figure 1a's curves.
START_FRACTION = 0.5
IMAGE_NOISE = ("random-pixels", "gaussian")  # the corruptions Zhang et al. say start converging faster
NAMES = {"random-pixels": "random pixels", "gaussian": "Gaussian images", "labels": "random labels",
         "random-labels": "random labels", "shuffled-pixels": "shuffled pixels"}


def start_epoch(row) -> int | None:
    level = START_FRACTION * math.log(row.num_classes)
    return next((c["epoch"] for c in row.curve if c["train_loss"] < level), None)


def corruption_findings(rows: list, config, baselines: dict[str, str]) -> Outcome:
    """`baselines`: per corruption, the regularizer whose rows stand for it (findings.baselines)."""
    top = {}  # corruption -> {seed: row} at p=1, the baseline regularizer's rows
    true = {}  # seed -> row at p=0 (true labels, clean images), from any corruption
    for r in rows:
        if getattr(r, "regularizer", "none") != baselines.get(r.corruption):
            continue
        if r.noise == 1.0:
            top.setdefault(r.corruption, {})[r.seed] = r
        elif r.noise == 0.0:
            true.setdefault(r.seed, r)
    if len(top) < 2:
        return Outcome([], [], {})
    out, notes = [], []
    steps = lambda group: {s: r.fit_steps for s, r in group.items()}  # noqa: E731
    summary = {}
    for kind, group in top.items():
        entry = {"fit_epoch": _seed_mean([r.fit_epoch for r in group.values()]),
                 "start_epoch": _seed_mean([start_epoch(r) for r in group.values()])}
        if true:
            ratio = {s: v / true[s].fit_steps for s, v in steps(group).items()
                     if v and s in true and true[s].fit_steps}
            if len(ratio) == len(group):  # every seed fit at p=1 and at p=0
                values = list(ratio.values())
                entry["slowdown"] = {"mean": statistics.fmean(values),
                                     "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "seeds": len(values)}
        summary[kind] = entry
    if true:
        summary["true labels"] = {"fit_epoch": _seed_mean([r.fit_epoch for r in true.values()]),
                                  "start_epoch": _seed_mean([start_epoch(r) for r in true.values()])}
    order = sorted(summary, key=lambda k: math.inf if summary[k]["fit_epoch"] is None else summary[k]["fit_epoch"])
    fit, start = ({k: "never" if v[key] is None else _n(v[key]) for k, v in summary.items()}
                  for key in ("fit_epoch", "start_epoch"))
    said = "; ".join(
        f"{NAMES.get(k, k)}: fit at epoch {fit[k]}, loss below ln(K)/2 at epoch {start[k]}"
        + (f", {summary[k]['slowdown']['mean']:.2f}x ± {summary[k]['slowdown']['sd']:.2f} the steps of true labels"
           if "slowdown" in summary[k] else "") for k in order)
    label = next((k for k in LABEL_KINDS if k in top), None)
    images = [k for k in IMAGE_NOISE if k in top]
    if label and images:
        starts = {k: {s: start_epoch(r) for s, r in top[k].items()} for k in (label, *images)}
        # random labels that never got there started after their last epoch: epochs run + 1 is a lower bound,
        # which can only shrink their lead. An image corruption that never got there has no such bound.
        starts[label] = {s: e if e is not None else top[label][s].epochs_run + 1 for s, e in starts[label].items()}
        unstarted = [k for k in images if any(e is None for e in starts[k].values())]
        diffs = {k: paired(starts[k], starts[label]) for k in images}
        names = " and ".join(NAMES[k] for k in images)
        claim = (f"{names[0].upper() + names[1:]} start converging faster than random labels (training loss below "
                 f"ln(classes)/2 in fewer epochs, paired by seed; Zhang et al. Figure 1a; the 95% interval below 0)")
        # a network that did not train on true labels, an image corruption that never started (no bound on when it
        # would), or one seed: the run cannot tell, and says why
        v = untrained(true.values(), "on true labels the network")
        if v is None and unstarted:
            v = Verdict(None, reason=f"{', '.join(unstarted)} did not bring the training loss below ln(classes)/2 "
                                     f"in every seed, so when it starts converging is unknown; raise --epochs")
        if v is None and any(d is None or d.n < 2 for d in diffs.values()):
            v = Verdict(None, reason=NEEDS_SEEDS)
        measured = "; ".join(f"{k} - {label}: {d.text(1.0, ' epochs')}" for k, d in diffs.items()
                             if d is not None and k not in unstarted)
        out.append((v or all_of(*(below(d, 0.0, 1.0, " epochs") for d in diffs.values()))).finding(
            claim, (measured + ". " if measured else "") + f"Order: {said}"))
    if not out:  # no verdict: the order is still worth seeing
        notes.append(f"order of fitting at p=1 (seed means): {said}")
    return Outcome(out, notes, {"by_corruption": summary, "fit_order": order})


def _seed_mean(values: list) -> float | None:
    return None if not values or any(v is None for v in values) else statistics.fmean(values)
