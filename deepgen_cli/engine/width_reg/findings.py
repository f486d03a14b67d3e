"""Howard et al. (2017)'s "small models have less trouble with overfitting", so need less regularization and
augmentation, judged on a width-reg run, paired by seed at 95%:

- the train/test gap of the plain (unregularized) arm is larger for the wide member than for the narrow one;
- what weight decay and augmentation buy (the regularized arm's test accuracy minus the plain arm's) is larger for
  the wide member than for the narrow one.

Yes: the 95% interval of wide minus narrow lies above 0. No: its one-sided 95% upper bound is under MARGIN. Cannot
tell: neither, or a member did not train (its plain test accuracy under probe's floor, halfway from chance to
perfect): a narrow model that learned nothing has no gap to show, which says nothing about overfitting."""

from __future__ import annotations

from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.probe.findings import trained_floor
from deepgen_cli.engine.stats import mean, paired_values, shown_or_bounded_fragile

MIN_SEEDS = 2
# A difference under 1 point of test accuracy is none: 4.5 of digits' 450 test images, and under the seed-to-seed
# spread of one member's accuracy (about 1 point on digits)
MARGIN = 0.01
GAP = ("Small models overfit less: the narrow member's train/test gap is smaller than the wide one's "
       "(Howard et al. 2017)")
BUY = ("Small models need less regularization and augmentation: weight decay and augmentation buy the narrow "
       "member less test accuracy than the wide one (Howard et al. 2017)")


def _judge(claim: str, p, measured: str) -> Finding:
    v, fragile = shown_or_bounded_fragile(p, MARGIN)
    rule = (f" (yes: the 95% interval of wide minus narrow, paired by seed, lies above 0; no: its one-sided 95% upper "
            f"bound is under {100 * MARGIN:g} point)")
    return Finding(claim, measured + rule, v, "measured",
                   "the interval is wider than the 1-point margin" if v is None else "", fragile)


def findings(rows: list, config, classes: int) -> Outcome:
    by = {}
    for r in rows:
        by.setdefault((r.width, r.regularized), {})[r.seed] = r
    narrow, wide = config.widths
    params = {w: next((r.params for r in rows if r.width == w), 0) for w in (narrow, wide)}
    notes = [f"{config.model} at widths {narrow} ({params[narrow]:,} parameters) and {wide} ({params[wide]:,}); "
             f"regularized arm: weight decay {config.weight_decay:g}" + (", random crop and flip" if config.augment
                                                                          else ", no augmentation")
             + f"; {config.epochs} epochs on {config.subset or 'all'} training images"]
    cells = [(w, r) for w in (narrow, wide) for r in (False, True)]
    seeds = sorted(set.intersection(*(set(by.get(c, {})) for c in cells)))
    analysis: dict = {"cells": [{"width": w, "regularized": r,
                                 **{k: mean(getattr(x, f) for x in by[(w, r)].values()) for k, f in
                                    (("train", "train_accuracy"), ("test", "test_accuracy"), ("gap", "gap"))}}
                                for w, r in cells if (w, r) in by]}
    if len(seeds) < MIN_SEEDS:
        why = "fewer than 2 seeds in every cell: no seed spread (--repeats 2 or more)"
        return Outcome([Finding(GAP, "not measured over seeds", None, "measured", why),
                        Finding(BUY, "not measured over seeds", None, "measured", why)], notes, analysis)

    def at(w, r, field):
        return [getattr(by[(w, r)][s], field) for s in seeds]

    gap = paired_values([a - b for a, b in zip(at(wide, False, "gap"), at(narrow, False, "gap"))])
    buy = {w: [a - b for a, b in zip(at(w, True, "test_accuracy"), at(w, False, "test_accuracy"))]
           for w in (narrow, wide)}
    more = paired_values([a - b for a, b in zip(buy[wide], buy[narrow])])
    analysis.update(gap_difference=gap.mean, gap_half_width_95=gap.half_width, buy={w: mean(v) for w, v in buy.items()},
                    buy_difference=more.mean, buy_half_width_95=more.half_width)

    def cell(w, r):
        return f"{100 * mean(at(w, r, 'train_accuracy')):.1f}% train, {100 * mean(at(w, r, 'test_accuracy')):.1f}% test"

    m_gap = (f"plain arm, mean over {len(seeds)} seeds: width {narrow} {cell(narrow, False)}, width {wide} "
             f"{cell(wide, False)}; gap wide − narrow {gap.text()}")
    m_buy = (f"regularized − plain test accuracy, mean over seeds: width {narrow} "
             f"{100 * mean(buy[narrow]):+.1f} points "
             f"({cell(narrow, True)} regularized), width {wide} {100 * mean(buy[wide]):+.1f} points "
             f"({cell(wide, True)} regularized); wide − narrow {more.text()}")
    floor = trained_floor(classes)
    low = min(mean(at(w, False, "test_accuracy")) for w in (narrow, wide))
    if low < floor:
        why = f"a member did not train ({low:.1%} plain test accuracy, under the {floor:.0%} floor)"
        return Outcome([Finding(GAP, m_gap, None, "measured", why), Finding(BUY, m_buy, None, "measured", why)],
                       notes, analysis)
    return Outcome([_judge(GAP, gap, m_gap), _judge(BUY, more, m_buy)], notes, analysis)
