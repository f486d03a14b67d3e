"""The verdicts of a probe run, computed from its rows: does probe error fall with depth (trained), and do
an untrained network's random features still beat the input (Alain & Bengio 2016)?

Two test errors count as different only when they differ by more than `tolerance` and by more than two
binomial standard deviations of their difference on the run's test set: on digits' 450 test examples
1% vs 2% is 4 vs 9 mistakes, which a probe's seed or a thread count can swap.
"""

from __future__ import annotations

import math

from deepgen_cli.engine.outcome import Finding, Outcome


def margin(a: float, b: float, n: int, tolerance: float) -> float:
    """The gap two error rates measured on n examples must exceed to count: max(tolerance, 2 SDs)."""
    return max(tolerance, 2 * math.sqrt((a * (1 - a) + b * (1 - b)) / max(n, 1)))


def _rule(tolerance: float, n: int) -> str:
    return f"max({tolerance:.3f}, 2 binomial SDs on {n} test examples)"


def rises(rows: list[dict], tolerance: float, n: int) -> list[tuple[str, float, float]]:
    """Layers whose test error exceeds the previous layer's by more than the margin: (layer, before, after)."""
    out = []
    for prev, cur in zip(rows, rows[1:]):
        a, b = prev["test_error"], cur["test_error"]
        if a is not None and b is not None and b - a > margin(a, b, n, tolerance):
            out.append((cur["layer"], a, b))
    return out


def monotone_finding(rows: list[dict], tolerance: float, n: int, label: str) -> Finding:
    """Rows of one snapshot in depth order; the claim holds when no layer's test error rises above the
    previous layer's by more than the margin, and the last layer's is below the first's."""
    first, last = rows[0], rows[-1]
    up = rises(rows, tolerance, n)
    text = (f"{label}: test error {first['test_error']:.3f} at {first['layer']} -> {last['test_error']:.3f} "
            f"at {last['layer']} over {len(rows)} layers")
    if up:
        shown = ", ".join(f"{name} ({a:.3f} -> {b:.3f})" for name, a, b in up[:6])
        more = f" and {len(up) - 6} more" if len(up) > 6 else ""
        text += f"; rises by more than {_rule(tolerance, n)} at {shown}{more}"
    else:
        text += f"; no rise larger than {_rule(tolerance, n)}"
    return Finding("Linear probe error decreases monotonically with depth in a trained network "
                   "(Alain & Bengio 2016)", text, reproduced=not up and last["test_error"] < first["test_error"], basis="measured")


def random_features_finding(rows: list[dict], tolerance: float, n: int) -> Finding | None:
    """Rows of an untrained model: some hidden layer's probe beats the input layer's by more than the margin."""
    inputs = [r for r in rows if r["kind"] == "input"]
    hidden = [r for r in rows if r["kind"] != "input"]
    if not inputs or not hidden:
        return None
    base = inputs[0]["test_error"]
    better = [r for r in hidden if base - r["test_error"] > margin(base, r["test_error"], n, tolerance)]
    best = min(hidden, key=lambda r: r["test_error"])
    text = (f"input test error {base:.3f}; {len(better)} of {len(hidden)} layers lower by more than "
            f"{_rule(tolerance, n)}, best {best['test_error']:.3f} at {best['layer']}")
    return Finding("An untrained network's random features are still more linearly separable than the "
                   "input (Alain & Bengio 2016)", text, reproduced=bool(better), basis="measured")


def findings(rows: list[dict], config, notes: list[str], test_examples: int) -> Outcome:
    """Findings on the last snapshot (the trained or the untrained model), judged on `test_examples`."""
    snapshots: dict[str, list[dict]] = {}
    for row in rows:
        snapshots.setdefault(row["snapshot"], []).append(row)
    findings = []
    if rows:
        label, last = list(snapshots.items())[-1]
        if config.untrained:
            f = random_features_finding(last, config.monotone_tolerance, test_examples)
            if f is None:
                notes.append("no verdict on random features: it compares the input with hidden layers; "
                             "--layers must name both")
            findings += [f] if f else []
        elif len(last) > 1:
            findings.append(monotone_finding(last, config.monotone_tolerance, test_examples, label))
    if config.control:
        notes.append("selectivity = probe train accuracy minus a control probe's on random per-example labels")
    analysis = {"test_examples": test_examples, "snapshots": [{"snapshot": k, "layers": [r["layer"] for r in v],
                               "train_error": [r["train_error"] for r in v], "test_error": [r["test_error"] for r in v]}
                              for k, v in snapshots.items()]}
    return Outcome(findings, notes, analysis)
