"""The verdicts of a probe run, computed from its rows: does probe error fall with depth (trained), and do
an untrained network's random features still beat the input (Alain & Bengio 2016)?
"""

from __future__ import annotations

from deepgen_cli.results import Finding


def rises(rows: list[dict], key: str, tolerance: float) -> list[tuple[str, float, float]]:
    """Layers whose error exceeds the previous layer's by more than `tolerance`: (layer, before, after)."""
    out = []
    for prev, cur in zip(rows, rows[1:]):
        if cur[key] is not None and prev[key] is not None and cur[key] > prev[key] + tolerance:
            out.append((cur["layer"], prev[key], cur[key]))
    return out


def monotone_finding(rows: list[dict], tolerance: float, label: str) -> Finding:
    """Rows of one snapshot in depth order; the claim holds when no layer's test error rises by more
    than `tolerance` over the layer before it."""
    first, last = rows[0], rows[-1]
    up = rises(rows, "test_error", tolerance)
    text = (f"{label}: test error {first['test_error']:.3f} at {first['layer']} -> {last['test_error']:.3f} "
            f"at {last['layer']} over {len(rows)} layers")
    if up:
        shown = ", ".join(f"{name} ({a:.3f} -> {b:.3f})" for name, a, b in up[:6])
        more = f" and {len(up) - 6} more" if len(up) > 6 else ""
        text += f"; rises by more than {tolerance:.3f} at {shown}{more}"
    else:
        text += f"; no rise larger than {tolerance:.3f}"
    return Finding("Linear probe error decreases monotonically with depth in a trained network "
                   "(Alain & Bengio 2016)", text, reproduced=not up and last["test_error"] < first["test_error"])


def random_features_finding(rows: list[dict]) -> Finding | None:
    """Rows of an untrained model: some hidden layer's probe beats the input layer's probe."""
    inputs = [r for r in rows if r["kind"] == "input"]
    hidden = [r for r in rows if r["kind"] != "input"]
    if not inputs or not hidden:
        return None
    base = inputs[0]["test_error"]
    better = [r for r in hidden if r["test_error"] < base]
    best = min(hidden, key=lambda r: r["test_error"])
    text = (f"input test error {base:.3f}; {len(better)} of {len(hidden)} layers lower, best "
            f"{best['test_error']:.3f} at {best['layer']}")
    return Finding("An untrained network's random features are still more linearly separable than the "
                   "input (Alain & Bengio 2016)", text, reproduced=bool(better))
