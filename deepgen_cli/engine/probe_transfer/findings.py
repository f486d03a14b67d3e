""""The first layers are general, the last specific" (Alain & Bengio 2016, quoting Yosinski et al. 2014), judged
on a probe-transfer run. Per seed and layer the gap is the own-class probe's test accuracy minus the other
classes' probe's; the two halves differ in difficulty already at the input, so each layer's specificity is its gap
minus the input's gap, paired by seed. The first layer is the first activation (a convolution or linear layer
before it is a linear map of the input, whose probe is the input's own: general by construction); the last layer
is the last hidden one (the layer feeding the output layer: the output's scores are the learned classes themselves, and
Yosinski et al. transfer no output layer either).

Yes when the last layer's specificity lies above NEAR_MARGIN at 95% while the first layer's one-sided 95% upper
bound lies under it; no when the last layer's lies wholly under it (transfer stays near) or the first layer's
one-sided lower bound lies above it (specific from the start); else cannot tell. Cannot tell too when a trained
network did not train (probe's floor, halfway from chance to perfect on its classes) or a fit did not converge."""

from __future__ import annotations

from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.probe.findings import trained_floor
from deepgen_cli.engine.stats import difference, fragile_bound, mean, noninferior, one_sided_bounds, paired_values, \
    standard_error

MIN_SEEDS = 2
# "Near" and "falls off": 5 points of test accuracy. Yosinski et al.'s frozen transfer (AnB, their Figure 2) is on
# the base network at layers 1-2 and roughly 10 points under it at layers 6-7; half that drop separates the two,
# and it is 11 of the 225 test images of a half of digits.
NEAR_MARGIN = 0.05
CLAIM = ("The first layers are general, the last specific: a probe on the classes the network never saw falls off "
         "in the last layers, near the own-class probe in the first (Alain & Bengio 2016; Yosinski et al. 2014)")
YES_NO = {True: "yes", False: "no", None: "cannot tell"}


def specificity(rows: list, depth: int) -> tuple[list[int], object]:
    """(seeds, Paired of gap(depth) - gap(input)) over the seeds that have both."""
    gap = {(r.seed, r.depth): r.gap for r in rows}
    seeds = sorted(s for s in {r.seed for r in rows} if (s, 0) in gap and (s, depth) in gap)
    return seeds, paired_values([gap[(s, depth)] - gap[(s, 0)] for s in seeds])


def findings(rows: list, config, classes: int) -> Outcome:
    depths = sorted({r.depth for r in rows})
    names = {r.depth: r.layer for r in rows}
    analysis: dict = {"per_layer": []}
    for d in depths:
        at = [r for r in rows if r.depth == d]
        analysis["per_layer"].append({"depth": d, "layer": names[d], "own": mean(r.own_accuracy for r in at),
                                      "other": mean(r.other_accuracy for r in at), "gap": mean(r.gap for r in at)})
    seeds = sorted({r.seed for r in rows})
    notes = [f"{config.model} trained on {config.trained_on} of the classes"
             + (f" ({config.epochs} epochs)" if config.trained_on != "none" else "")
             + f"; each half {classes} classes; seeds {', '.join(map(str, seeds))}"]
    if len(depths) < 4:  # input, a first layer, a last hidden layer, the output
        return Outcome([], notes + ["too few probed layers to tell first from last"], analysis)
    kinds = {r.depth: r.kind for r in rows}
    first = next((d for d in depths[1:-1] if kinds[d] == "activation"), depths[1])
    last = depths[-2]
    s_first, s_last = specificity(rows, first)[1], specificity(rows, last)[1]
    analysis.update(first={"layer": names[first], "specificity": s_first.mean, "half_width_95": s_first.half_width},
                    last={"layer": names[last], "specificity": s_last.mean, "half_width_95": s_last.half_width})
    per = "; ".join(f"{names[d]} {100 * e['own']:.1f}% / {100 * e['other']:.1f}%" for d, e in
                    zip(depths, analysis["per_layer"]))
    measured = (f"probe test accuracy, own classes / other classes, mean over seeds: {per}; specificity (gap minus "
                f"the input's gap, paired by seed): first layer {names[first]} {s_first.text()}, last hidden layer "
                f"{names[last]} {s_last.text()} (yes: the last's 95% interval lies above {100 * NEAR_MARGIN:g} "
                f"points and the first's one-sided 95% upper bound under it; no: the last's interval lies under it "
                f"or the first's one-sided lower bound above it)")
    if len(seeds) < MIN_SEEDS:
        return Outcome([Finding(CLAIM, measured, None, "measured", "one seed: no seed spread (--repeats 2 or more)")],
                       notes, analysis)
    if not all(r.converged for r in rows):
        bad = sorted({r.layer for r in rows if not r.converged})
        return Outcome([Finding(CLAIM, measured, None, "measured", f"a probe did not converge at {', '.join(bad)}")],
                       notes, analysis)
    if config.trained_on != "none":
        floor = trained_floor(classes if config.trained_on == "half" else 2 * classes)
        low = min(r.network_accuracy for r in rows)
        if low < floor:
            return Outcome([Finding(CLAIM, measured, None, "measured", f"the network did not train ({low:.1%} test "
                                    f"accuracy, under the {floor:.0%} floor)")], notes, analysis)
    falls, near = difference(s_last, NEAR_MARGIN), noninferior(s_first, NEAR_MARGIN)
    v = False if falls is False or near is False else True if falls and near else None
    fragile = False
    if v is True:
        fragile = fragile_bound(s_last.mean - s_last.half_width, NEAR_MARGIN, standard_error(s_last)) or \
            fragile_bound(one_sided_bounds(s_first)[1], NEAR_MARGIN, standard_error(s_first))
    reason = "the last layer's falloff or the first layer's nearness has an interval wider than the 5-point margin"
    return Outcome([Finding(CLAIM, measured, v, "measured", reason if v is None else "", fragile)], notes, analysis)
