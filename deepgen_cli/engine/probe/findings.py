"""The verdicts of a probe run (Alain & Bengio 2016), computed from its rows on the last snapshot.

Every layer's probe is scored on the same test examples, so two layers' errors are paired: they are compared
with McNemar's exact test on the examples one probe gets right and the other wrong (stats.mcnemar), never as two
independent binomials. Where a verdict looks at several comparisons at once, Holm's correction keeps the chance
of any false "significant" at alpha. Trained model: a trend test over depth, first vs last layer, and monotone
(no significant rise between adjacent layers), each its own verdict. Untrained model: hidden layers vs the input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deepgen_cli.engine import stats
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.probe.metrics import CKA_MIN_EXAMPLES

SHOWN = 6  # layers named in a verdict's text; the analysis keeps every comparison


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


def compare(first: dict, second: dict) -> Comparison:
    b, c = stats.paired_counts(correct(first), correct(second))
    return Comparison(first["layer"], second["layer"], first["test_error"], second["test_error"], b, c,
                      stats.mcnemar(b, c))


def _holm(comparisons: list[Comparison]) -> list[Comparison]:
    for comp, p in zip(comparisons, stats.holm([c.p for c in comparisons])):
        comp.p_holm = p
    return comparisons


def _named(comparisons: list[Comparison]) -> str:
    more = f" and {len(comparisons) - SHOWN} more" if len(comparisons) > SHOWN else ""
    return ", ".join(c.text() for c in comparisons[:SHOWN]) + more


def trend_finding(rows: list[dict], alpha: float, label: str) -> tuple[Finding, dict]:
    """Spearman's rank correlation of test error with depth; reproduced when negative with p < alpha."""
    errors = [r["test_error"] for r in rows]
    t = stats.spearman_trend(range(len(rows)), errors)
    how = f"exact: all {t.orderings:,} orderings" if t.exact else f"{t.orderings:,} random orderings"
    text = (f"{label}, {len(rows)} layers {rows[0]['layer']}..{rows[-1]['layer']}: Spearman rank correlation of "
            f"test error with depth rho = {t.rho:+.2f}, two-sided permutation p = {t.p:.3g} ({how}); "
            f"reproduced when rho < 0 and p < {alpha:g}")
    ok = t.rho < 0 and t.p < alpha
    return (Finding("Linear probe error decreases with depth in a trained network (Alain & Bengio 2016): "
                    "trend over depth", text, reproduced=ok, basis="measured"),
            {"test": "spearman", "snapshot": label, "rho": t.rho, "p": t.p, "orderings": t.orderings,
             "exact": t.exact})


def first_last_finding(rows: list[dict], alpha: float, label: str) -> tuple[Finding, dict]:
    """The last layer's probe against the first's on the same examples; reproduced when the last makes fewer
    mistakes with McNemar p < alpha."""
    comp = compare(rows[0], rows[-1])
    n = len(correct(rows[0]))
    lo, hi = stats.paired_difference_interval(comp.b, comp.c, n)
    text = (f"{label}: test error {comp.first_error:.3f} at {comp.first} vs {comp.second_error:.3f} at "
            f"{comp.second} on the same {n} examples, a difference of {100 * (comp.b - comp.c) / n:+.1f} points "
            f"(95% paired interval {100 * lo:+.1f} to {100 * hi:+.1f}); McNemar exact two-sided p = {comp.p:.3g} "
            f"(b = {comp.b} examples only {comp.first} gets right, c = {comp.c} only {comp.second}); reproduced "
            f"when the last layer's error is lower with p < {alpha:g}")
    return (Finding("The last layer's probe beats the first's in a trained network (Alain & Bengio 2016)", text,
                    reproduced=comp.c > comp.b and comp.p < alpha, basis="measured"),
            {"test": "mcnemar", "family": "first-last", "snapshot": label, **asdict(comp)})


def monotone_finding(rows: list[dict], alpha: float, label: str) -> tuple[Finding, list[dict]]:
    """Every adjacent pair of layers, McNemar, Holm-corrected over the pairs: reproduced when no layer's
    error rises significantly above the previous layer's (the paper's claim is monotone improvement)."""
    pairs = _holm([compare(a, b) for a, b in zip(rows, rows[1:])])
    rises = [c for c in pairs if c.rise]
    significant = [c for c in rises if c.p_holm < alpha]
    text = (f"{label}, {len(pairs)} adjacent pairs, McNemar exact two-sided, Holm-corrected over the pairs at "
            f"alpha {alpha:g}: ")
    if significant:
        text += f"{len(significant)} significant rises: {_named(significant)}"
    elif rises:
        text += f"no significant rise; largest of {len(rises)} rises: {max(rises, key=lambda c: c.b - c.c).text()}"
    else:
        text += "no layer's test error is above the previous layer's"
    return (Finding("Linear probe error never rises significantly from one layer to the next in a trained "
                    "network (monotone; Alain & Bengio 2016)", text, reproduced=not significant, basis="measured"),
            [{"test": "mcnemar", "family": "adjacent", "snapshot": label, **asdict(c)} for c in pairs])


def random_features_finding(rows: list[dict], alpha: float) -> tuple[Finding, list[dict]] | None:
    """Rows of an untrained model: some hidden layer's probe beats the input's, McNemar per layer, Holm-corrected
    over the hidden layers (looking at N layers and keeping the best would otherwise find one by chance)."""
    inputs = [r for r in rows if r["kind"] == "input"]
    hidden = [r for r in rows if r["kind"] != "input"]
    if not inputs or not hidden:
        return None
    comps = _holm([compare(inputs[0], r) for r in hidden])
    better = sorted((c for c in comps if c.c > c.b and c.p_holm < alpha), key=lambda c: c.second_error)
    text = (f"input test error {inputs[0]['test_error']:.3f}; {len(hidden)} hidden layers vs the input, McNemar "
            f"exact two-sided, Holm-corrected over the {len(hidden)} at alpha {alpha:g}: ")
    if better:
        text += f"{len(better)} significantly lower: {_named(better)}"
    else:
        best = min(comps, key=lambda c: (c.second_error, c.p))
        text += f"none significantly lower; best {best.text()}"
    return (Finding("An untrained network's random features are still more linearly separable than the input "
                    "(Alain & Bengio 2016)", text, reproduced=bool(better), basis="measured"),
            [{"test": "mcnemar", "family": "input-vs-hidden", "snapshot": rows[0]["snapshot"], **asdict(c)}
             for c in comps])


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
        missing = [r["layer"] for r in last if correct(r) is None]
        if missing:
            notes.append(f"no verdicts: no per-example test results for {', '.join(missing[:SHOWN])} (rows of an "
                         f"earlier deepgen resumed?); rerun without --resume")
        elif config.untrained:
            result = random_features_finding(last, config.alpha)
            if result is None:
                notes.append("no verdict on random features: it compares the input with hidden layers; "
                             "--layers must name both")
            else:
                found.append(result[0])
                tests += result[1]
        elif len(last) > 1:
            if len(last) > 2:
                f, t = trend_finding(last, config.alpha, label)
                found.append(f)
                tests.append(t)
            for f, t in (first_last_finding(last, config.alpha, label), monotone_finding(last, config.alpha, label)):
                found.append(f)
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
                "snapshots": [{"snapshot": k, "layers": [r["layer"] for r in v],
                               "train_error": [r["train_error"] for r in v], "test_error": [r["test_error"] for r in v],
                               "control_train_accuracy": [r.get("control_train_accuracy") for r in v]}
                              for k, v in snapshots.items()]}
    return Outcome(found, notes, analysis)
