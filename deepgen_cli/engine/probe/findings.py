"""The verdicts of a probe run (Alain & Bengio 2016), computed from its rows on the last snapshot.

Every layer's probe is scored on the same test examples, so two layers' errors are paired: they are compared
with McNemar's exact test on the examples one probe gets right and the other wrong (stats.mcnemar), never as two
independent binomials; over seeds (--repeats) the discordant counts are summed (each seed's discordant examples
are fair coins under "no difference", so the sum is one exact test). Where a verdict looks at several comparisons
at once, Holm's correction keeps the chance of any false "significant" at alpha. Trained model: a trend test over
depth, first vs last layer, and monotone (no rise beyond MONOTONE_MARGIN between adjacent layers), each its own
verdict. Untrained model: hidden layers vs the input. Every verdict reads the probes fit to their optimum
(control.py) and cannot tell where one did not converge, or (trained model) where the network did not train.
Rules and reasons: docs/probe.md, "Verdict rules".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.probe.metrics import CKA_MIN_EXAMPLES

SHOWN = 6  # layers named in a verdict's text; the analysis keeps every comparison
# "Monotone" is an equivalence-style claim: no adjacent rise in test error larger than this (a fraction). One point:
# the binomial SD of a 2% error on digits' 450 test examples is 0.66 points, so a smaller rise is within what one
# test set resolves; a larger one is a break in the paper's monotone curve.
MONOTONE_MARGIN = 0.01


def trained_floor(classes: int) -> float:
    """The test accuracy a network must reach for a claim about trained networks: halfway from chance to perfect
    (55% for 10 classes; 30 binomial SDs above chance on 450 examples, and below any network that learned the
    task, 90% and more on digits). Below it the layers' separability says nothing about what training does."""
    return 1 / classes + (1 - 1 / classes) / 2


@dataclass
class Comparison:
    """Two layers' probes on the same test examples: b = examples only `first` gets right, c = only `second`."""

    first: str
    second: str
    first_error: float
    second_error: float
    b: int
    c: int
    p: float  # exact two-sided McNemar
    p_holm: float | None = None  # within its family of comparisons

    @property
    def rise(self) -> bool:  # the second layer makes more mistakes
        return self.b > self.c

    def text(self) -> str:
        holm = "" if self.p_holm is None else f", Holm p = {self.p_holm:.3g}"
        return (f"{self.second} ({self.first_error:.3f} -> {self.second_error:.3f}, b = {self.b}, c = {self.c}, "
                f"p = {self.p:.3g}{holm})")


def correct(row: dict) -> list[bool] | None:
    packed = row.get("test_correct")
    return None if not packed else stats.unpack_outcomes(packed["hex"], packed["examples"])


def compare(first, second) -> Comparison:
    """Two layers, each a row or a list of rows (one per seed, in the same seed order): discordant counts summed
    over seeds, errors averaged."""
    firsts = first if isinstance(first, list) else [first]
    seconds = second if isinstance(second, list) else [second]
    b = c = 0
    for one, two in zip(firsts, seconds, strict=True):
        b_s, c_s = stats.paired_counts(correct(one), correct(two))
        b, c = b + b_s, c + c_s
    return Comparison(firsts[0]["layer"], seconds[0]["layer"], stats.mean(r["test_error"] for r in firsts),
                      stats.mean(r["test_error"] for r in seconds), b, c, stats.mcnemar(b, c))


def _by_layer(seeds: list[list[dict]]) -> list[list[dict]]:
    """Seeds' rows (each in depth order) as layers' rows (each in seed order)."""
    return [list(layer) for layer in zip(*seeds, strict=True)]


def _seeds(seeds: list[list[dict]]) -> str:
    return "1 seed" if len(seeds) == 1 else f"{len(seeds)} seeds pooled"



def _holm(comparisons: list[Comparison]) -> list[Comparison]:
    for comp, p in zip(comparisons, stats.holm([c.p for c in comparisons])):
        comp.p_holm = p
    return comparisons


def _named(comparisons: list[Comparison]) -> str:
    more = f" and {len(comparisons) - SHOWN} more" if len(comparisons) > SHOWN else ""
    return ", ".join(c.text() for c in comparisons[:SHOWN]) + more


def trend_finding(seeds: list[list[dict]], alpha: float, label: str) -> tuple[Finding, dict]:
    """Spearman's rank correlation of test error with depth, averaged over seeds, with a permutation p-value that
    shuffles each seed's series apart; reproduced when negative with p < alpha."""
    rows = seeds[0]
    t = stats.pooled_spearman_trend([[r["test_error"] for r in s] for s in seeds])
    how = f"exact: all {t.orderings:,} orderings" if t.exact else f"{t.orderings:,} random orderings"
    per_seed = "" if len(seeds) == 1 else (" (per seed " + ", ".join(
        f"{stats.spearman_trend(range(len(s)), [r['test_error'] for r in s]).rho:+.2f}" for s in seeds) + ")")
    text = (f"{label}, {len(rows)} layers {rows[0]['layer']}..{rows[-1]['layer']}, {_seeds(seeds)}: Spearman rank "
            f"correlation of test error with depth rho = {t.rho:+.2f}{per_seed}, two-sided permutation p = "
            f"{t.p:.3g} ({how}); reproduced when rho < 0 and p < {alpha:g}")
    return (Finding("Linear probe error decreases with depth in a trained network (Alain & Bengio 2016): "
                    "trend over depth", text, reproduced=t.rho < 0 and t.p < alpha, basis="measured",
                    fragile=stats.fragile_p(t.p, alpha)),
            {"test": "spearman", "snapshot": label, "rho": t.rho, "p": t.p, "orderings": t.orderings,
             "exact": t.exact, "seeds": len(seeds)})


def first_last_finding(seeds: list[list[dict]], alpha: float, label: str) -> tuple[Finding, dict]:
    """The last layer's probe against the first's on the same examples, discordant counts summed over seeds;
    reproduced when the last makes fewer mistakes with McNemar p < alpha."""
    layers = _by_layer(seeds)
    comp = compare(layers[0], layers[-1])
    n = len(correct(seeds[0][0])) * len(seeds)
    lo, hi = stats.paired_difference_interval(comp.b, comp.c, n)
    text = (f"{label}, {_seeds(seeds)}: test error {comp.first_error:.3f} at {comp.first} vs {comp.second_error:.3f} "
            f"at {comp.second} on the same {n} example outcomes, a difference of {100 * (comp.b - comp.c) / n:+.1f} "
            f"points (95% paired interval {100 * lo:+.1f} to {100 * hi:+.1f}); McNemar exact two-sided p = "
            f"{comp.p:.3g} (b = {comp.b} examples only {comp.first} gets right, c = {comp.c} only {comp.second}); "
            f"reproduced when the last layer's error is lower with p < {alpha:g}")
    return (Finding("The last layer's probe beats the first's in a trained network (Alain & Bengio 2016)", text,
                    reproduced=comp.c > comp.b and comp.p < alpha, basis="measured",
                    fragile=stats.fragile_p(comp.p, alpha)),
            {"test": "mcnemar", "family": "first-last", "snapshot": label, "seeds": len(seeds), **asdict(comp)})


def monotone_finding(seeds: list[list[dict]], alpha: float, label: str,
                     margin: float = MONOTONE_MARGIN) -> tuple[Finding, list[dict]]:
    """Every adjacent pair of layers: the rise in test error (pooled over seeds) and its one-sided 95% bounds
    against `margin`. Yes when every pair's upper bound is below it (an intersection-union test: each pair at
    alpha, no correction needed); no when some pair's lower bound, Bonferroni-corrected over the pairs, is above
    it (a rise beyond the margin shown); else cannot tell."""
    layers = _by_layer(seeds)
    pairs = _holm([compare(a, b) for a, b in zip(layers, layers[1:])])
    n = len(correct(seeds[0][0])) * len(seeds)
    z_up = NormalDist().inv_cdf(1 - alpha)
    z_down = NormalDist().inv_cdf(1 - alpha / len(pairs))
    bounds = []
    for comp in pairs:
        rise = (comp.b - comp.c) / n
        se = stats.paired_difference_interval(comp.b, comp.c, n, z=1.0)[1] - rise
        bounds.append((rise - z_down * se, rise + z_up * se))
    worst = max(range(len(pairs)), key=lambda i: bounds[i][1])
    beyond = [pairs[i] for i, (lo, _) in enumerate(bounds) if lo > margin]
    ok = True if bounds[worst][1] < margin else (False if beyond else None)
    w = pairs[worst]
    text = (f"{label}, {len(pairs)} adjacent pairs, {_seeds(seeds)}: largest upper bound of a rise {100 * bounds[worst][1]:+.1f} "
            f"points at {w.text()} (one-sided 95%, paired); margin {100 * margin:g} point: reproduced when every "
            f"pair's upper bound is below it, not when a pair's lower bound (Bonferroni over the pairs) is above it")
    if beyond:
        text += f"; {len(beyond)} rises beyond the margin: {_named(beyond)}"
    reason = "" if ok is not None else (f"the rise at {w.second} ({100 * (w.b - w.c) / n:+.1f} points, upper bound "
                                        f"{100 * bounds[worst][1]:+.1f}) may or may not exceed the "
                                        f"{100 * margin:g}-point margin at this many test examples and seeds")
    return (Finding(f"Linear probe error never rises by more than {100 * margin:g} point from one layer to the next in "
                    "a trained network (monotone; Alain & Bengio 2016)", text, reproduced=ok, basis="measured", reason=reason,
                    fragile=stats.fragile_bound(bounds[worst][1], margin, (bounds[worst][1] - (w.b - w.c) / n) / z_up)),
            [{"test": "mcnemar", "family": "adjacent", "snapshot": label, "seeds": len(seeds), "lower": lo,
              "upper": hi, "margin": margin, **asdict(c)} for c, (lo, hi) in zip(pairs, bounds)])


def random_features_finding(seeds: list[list[dict]], alpha: float) -> tuple[Finding, list[dict]] | None:
    """Rows of an untrained model: some hidden layer's probe beats the input's, McNemar per layer (discordant
    counts summed over seeds), Holm-corrected over the hidden layers (looking at N layers and keeping the best
    would otherwise find one by chance)."""
    rows = seeds[0]
    if not any(r["kind"] == "input" for r in rows) or all(r["kind"] == "input" for r in rows):
        return None
    layers = _by_layer(seeds)
    inputs = [layer for layer in layers if layer[0]["kind"] == "input"][0]
    hidden = [layer for layer in layers if layer[0]["kind"] != "input"]
    comps = _holm([compare(inputs, layer) for layer in hidden])
    better = sorted((c for c in comps if c.c > c.b and c.p_holm < alpha), key=lambda c: c.second_error)
    text = (f"{_seeds(seeds)}: input test error {comps[0].first_error:.3f}; {len(hidden)} hidden layers vs the "
            f"input, McNemar exact two-sided, Holm-corrected over the {len(hidden)} at alpha {alpha:g}: ")
    if better:
        text += f"{len(better)} significantly lower: {_named(better)}"
    else:
        best = min(comps, key=lambda c: (c.second_error, c.p))
        text += f"none significantly lower; best {best.text()}"
    deciding = min((c.p_holm for c in comps if c.c > c.b), default=1.0)
    return (Finding("An untrained network's random features are still more linearly separable than the input "
                    "(Alain & Bengio 2016)", text, reproduced=bool(better), basis="measured",
                    fragile=stats.fragile_p(deciding, alpha)),
            [{"test": "mcnemar", "family": "input-vs-hidden", "snapshot": rows[0]["snapshot"], "seeds": len(seeds),
              **asdict(c)} for c in comps])


def _unsure(finding: Finding, reason: str) -> Finding:
    """The same measurement without a verdict: the run cannot tell, and says why."""
    finding.reproduced, finding.reason, finding.fragile = None, reason, False
    return finding


def _gate(seeds: list[list[dict]], classes: int | None, trained: bool) -> str:
    """Why the run cannot tell (empty when it can): a probe that did not converge, or a network that did not
    train (its test accuracy below trained_floor)."""
    loose = sorted({f"{r['layer']} (seed {r.get('seed', 0)})" for s in seeds for r in s
                    if r.get("probe_converged") is not True})
    if loose:
        return (f"the probes at {', '.join(loose[:SHOWN])}{' and more' if len(loose) > SHOWN else ''} did not reach "
                f"their optimum (a solve residual above its tolerance, a full-rank sketch narrower than the training "
                f"set on a layer wider than it ending above 5% training error: raise --max-probe-mb, or no converged "
                f"fit in the row), so their errors measure the fit, not the layer's linear separability")
    if trained and classes:
        floor = trained_floor(classes)
        low = [(s[0].get("seed", 0), s[0].get("model_test_accuracy")) for s in seeds]
        low = [(seed, a) for seed, a in low if a is None or a < floor]
        if low:
            shown = ", ".join(f"seed {seed}: {'unknown' if a is None else f'{100 * a:.1f}%'}" for seed, a in low)
            return (f"the network did not train: test accuracy below the {100 * floor:.0f}% floor (halfway from "
                    f"chance to perfect) at {shown}")
    return ""


def _control_note(rows: list[dict], classes: int | None) -> str | None:
    """Where the converged control probe memorizes its random labels, and where it cannot."""
    fits = [r for r in rows if r.get("control_train_accuracy") is not None]
    if not fits:
        return None
    memorized = [r["layer"] for r in fits if r["control_train_accuracy"] >= 0.99]
    low = min(fits, key=lambda r: r["control_train_accuracy"])
    text = ("control acc: a probe on random per-example labels fit to convergence (ridge least squares, closed "
            "form) on each layer's training features; selectivity = the same fit's task train accuracy minus it "
            f"(Hewitt & Liang 2019). Memorized (>= 99%) at: {', '.join(memorized[:SHOWN]) or 'no layer'}"
            f"{' and more' if len(memorized) > SHOWN else ''}; lowest {100 * low['control_train_accuracy']:.1f}% "
            f"at {low['layer']} ({low['control_features']} features)")
    return text + (f", chance {100 / classes:.0f}%" if classes else "")


def findings(rows: list[dict], config, notes: list[str], test_examples: int, classes: int | None = None) -> Outcome:
    """Findings on the last snapshot (the trained or the untrained model), judged on `test_examples`."""
    snapshots: dict[str, list[dict]] = {}
    for row in rows:
        snapshots.setdefault(row["snapshot"], []).append(row)
    found, tests = [], []
    if rows:
        label, last = list(snapshots.items())[-1]
        by_seed: dict[int, list[dict]] = {}
        for r in last:
            by_seed.setdefault(r.get("seed", 0), []).append(r)
        seeds = list(by_seed.values())
        last = seeds[0]
        missing = [r["layer"] for s in seeds for r in s if correct(r) is None]
        if missing:
            notes.append(f"no verdicts: no per-example test results for {', '.join(missing[:SHOWN])} (rows of an "
                         f"earlier deepgen resumed?); rerun without --resume")
        elif config.untrained:
            result = random_features_finding(seeds, config.alpha)
            if result is None:
                notes.append("no verdict on random features: it compares the input with hidden layers; "
                             "--layers must name both")
            else:
                gate = _gate(seeds, classes, trained=False)
                found.append(_unsure(result[0], gate) if gate else result[0])
                tests += result[1]
        elif len(last) > 1:
            results = ([trend_finding(seeds, config.alpha, label)] if len(last) > 2 else []) + [
                first_last_finding(seeds, config.alpha, label), monotone_finding(seeds, config.alpha, label)]
            gate = _gate(seeds, classes, trained=True)
            for f, t in results:
                found.append(_unsure(f, gate) if gate else f)
                tests += t if isinstance(t, list) else [t]
        control = _control_note(last, classes)
        if control:
            notes.append(control)
    cka = min(config.cka_examples, test_examples)
    cka = cka if cka >= CKA_MIN_EXAMPLES else 0
    if cka:
        notes.append(f"CKA prev: unbiased linear CKA (HSIC estimator of Song et al. 2012) on the first {cka} "
                     "test examples")
    elif config.cka_examples:
        notes.append(f"CKA prev: none: the test set has {test_examples} examples and the unbiased estimator needs "
                     f"{CKA_MIN_EXAMPLES}")
    analysis = {"test_examples": test_examples, "alpha": config.alpha, "cka_examples": cka, "tests": tests,
                "monotone_margin": MONOTONE_MARGIN, "trained_floor": trained_floor(classes) if classes else None,
                "snapshots": [{"snapshot": k, "layers": [r["layer"] for r in v],
                               "seed": [r.get("seed", 0) for r in v], "train_error": [r["train_error"] for r in v],
                               "test_error": [r["test_error"] for r in v],
                               "probe_converged": [r.get("probe_converged") for r in v],
                               "control_train_accuracy": [r.get("control_train_accuracy") for r in v]}
                              for k, v in snapshots.items()]}
    return Outcome(found, notes, analysis)
