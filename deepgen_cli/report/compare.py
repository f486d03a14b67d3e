"""Two records of one command side by side: rows matched by key, each numeric column's two values with their
ratio (timings: medians and IQRs) or difference (accuracies: with a 95% interval), and the verdicts that changed."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from deepgen_cli.report.saved import key_text, row_key
from deepgen_cli.report.table import Column, percent, text

Z95 = 1.959964  # two-sided 95% normal quantile


@dataclass
class Change:
    """One quantity of one matched row, in A and in B."""

    row: str  # the row's key, e.g. "model=squeezenet"
    quantity: str  # the column's header
    column: str  # its key in the rows
    kind: str  # timing | accuracy | number
    a: float
    b: float
    ratio: float | None = None  # b / a (timings and other numbers)
    difference: float | None = None  # b - a (accuracies, as fractions)
    low: float | None = None  # the 95% interval of the difference (accuracies with a known test-set size)
    high: float | None = None
    a_iqr: tuple[float, float] | None = None  # (Q1, Q3) of the timed samples
    b_iqr: tuple[float, float] | None = None
    verdict: str = ""  # "IQRs overlap", "slower", "faster", "differs", "within noise"

    def change_text(self) -> str:
        if self.kind == "accuracy":
            return f"{100 * self.difference:+.1f} points"
        return "" if self.ratio is None else f"{self.ratio:.3f}x"

    def detail_text(self) -> str:
        if self.a_iqr and self.b_iqr:
            return f"IQR {_short(self.a_iqr[0])}-{_short(self.a_iqr[1])} vs {_short(self.b_iqr[0])}-{_short(self.b_iqr[1])}"
        if self.low is not None:
            return f"95% CI {100 * self.low:+.1f} to {100 * self.high:+.1f} points"
        return ""


def _short(v: float) -> str:
    """Three significant figures without an exponent: 1795.97 -> '1796', 12.345 -> '12.3', 0.41234 -> '0.412'."""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def quartiles(samples: list[float]) -> tuple[float, float, float]:
    """(Q1, median, Q3) as measure.Latency computes them (statistics.quantiles, inclusive)."""
    if len(samples) < 2:
        return samples[0], samples[0], samples[0]
    q1, q2, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return q1, q2, q3


def difference_interval(p_a: float, n_a: int, p_b: float, n_b: int) -> tuple[float, float]:
    """95% interval of p_b - p_a for two binomial proportions (Agresti & Caffo 2000: one success and one failure
    added to each, which keeps its coverage near 95% even at 0% or 100%, where the plain Wald interval is empty).

    The records hold no per-example predictions, so this treats the two runs as independent: on one shared test
    set the runs' errors correlate and the paired interval would be narrower, so this one errs wide.
    """
    x_a, x_b = round(p_a * n_a), round(p_b * n_b)
    pa, pb = (x_a + 1) / (n_a + 2), (x_b + 1) / (n_b + 2)
    half = Z95 * math.sqrt(pa * (1 - pa) / (n_a + 2) + pb * (1 - pb) / (n_b + 2))
    return pb - pa - half, pb - pa + half


def _examples(column: str, row: dict, analysis: dict) -> int | None:
    """The number of examples an accuracy or error was measured on, where the record says."""
    prefix = column.split("_", 1)[0]
    n = row.get(f"{prefix}_examples") or (analysis or {}).get(f"{prefix}_examples")
    return int(n) if isinstance(n, (int, float)) and n > 0 else None


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def kind_of(column: Column) -> str:
    if column.key.endswith(("_ms", "_ms_median", "_time_s")) or "latency" in column.key:
        return "timing"
    if column.fmt is percent:
        return "accuracy"
    return "number"


def compare_row(name: str, a: dict, b: dict, columns: list[Column], key: tuple[str, ...],
                analysis: tuple[dict, dict]) -> list[Change]:
    out = []
    for c in columns:
        # settings shown as text (input resolution, batch, depth) and IQRs (shown beside their medians) are skipped
        if (c.key in key or not c.numeric or c.fmt in (text, str) or c.key.endswith("_iqr")
                or not (_is_number(a.get(c.key)) and _is_number(b.get(c.key)))):
            continue
        kind = kind_of(c)
        va, vb = a[c.key], b[c.key]
        ch = Change(name, c.header, c.key, kind, va, vb)
        if kind == "accuracy":
            ch.difference = vb - va
            n_a, n_b = _examples(c.key, a, analysis[0]), _examples(c.key, b, analysis[1])
            if n_a and n_b and 0 <= va <= 1 and 0 <= vb <= 1:
                ch.low, ch.high = difference_interval(va, n_a, vb, n_b)
                ch.verdict = "differs" if ch.low > 0 or ch.high < 0 else "within noise"
        else:
            ch.ratio = vb / va if va else None
            samples = c.key.replace("_median", "").replace("_ms", "_samples_ms")
            # raw samples only where the row keeps a list of them (latency_samples_ms); fit_time_s has none
            if kind == "timing" and isinstance(a.get(samples), list) and isinstance(b.get(samples), list) \
                    and samples != c.key and a[samples] and b[samples]:
                qa, qb = quartiles(a[samples]), quartiles(b[samples])
                ch.a_iqr, ch.b_iqr = (qa[0], qa[2]), (qb[0], qb[2])
                overlap = qa[0] <= qb[2] and qb[0] <= qa[2]
                ch.verdict = "IQRs overlap" if overlap else ("slower" if vb > va else "faster")
        out.append(ch)
    return out


@dataclass
class Comparison:
    changes: list[Change]
    only_a: list[str]  # row keys in A only
    only_b: list[str]
    findings: list[tuple[str, dict | None, dict | None]]  # (status, A's finding, B's), verdict changes first
    notes: list[str]  # how rows were matched

    def slowest(self) -> Change | None:
        """The latency with the largest ratio B/A."""
        lat = [c for c in self.changes if "latency" in c.column and c.ratio is not None]
        return max(lat, key=lambda c: c.ratio, default=None)


def _findings(fa: list[dict], fb: list[dict]) -> list[tuple[str, dict | None, dict | None]]:
    """Findings matched by claim: verdict changed first, then the same verdict, then those in one record only."""
    b_by = {f.get("claim"): f for f in fb}
    changed, same, only = [], [], []
    for f in fa:
        g = b_by.pop(f.get("claim"), None)
        if g is None:
            only.append(("only in A", f, None))
        elif f.get("reproduced") != g.get("reproduced"):
            changed.append(("verdict changed", f, g))
        else:
            same.append(("same verdict", f, g))
    only += [("only in B", None, g) for g in b_by.values()]
    return changed + same + only


def matching_key(a_rows: list[dict], b_rows: list[dict], key: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """The key rows are matched by: `key` less the fields that are one value in A and another in B (two runs with
    different seeds compare row by row), and what was set aside, as notes."""
    def single(rows, f):
        values = {row_key(r, (f,)) for r in rows}
        return next(iter(values)) if len(values) == 1 else None

    apart = [f for f in key if single(a_rows, f) is not None and single(b_rows, f) is not None
             and single(a_rows, f) != single(b_rows, f)]
    notes = [f"rows matched regardless of {f} ({a_rows[0].get(f)} in A, {b_rows[0].get(f)} in B)" for f in apart]
    return tuple(f for f in key if f not in apart), notes


def compare(a: dict, b: dict, columns: list[Column], key: tuple[str, ...]) -> Comparison:
    """Records `a` and `b` (as read_record returns them) of one command, by the rows' `key` fields."""
    a_ok, b_ok = [r for r in a["rows"] if not r.get("error")], [r for r in b["rows"] if not r.get("error")]
    full_key = key  # none of its fields is a quantity to compare
    key, notes = matching_key(a_ok, b_ok, key) if a_ok and b_ok else (key, [])
    b_rows = {row_key(r, key): r for r in b_ok}
    changes, only_a = [], []
    analysis = (a.get("analysis") or {}, b.get("analysis") or {})
    for r in a_ok:
        other = b_rows.pop(row_key(r, key), None)
        if other is None:
            only_a.append(key_text(r, key))
        else:
            changes += compare_row(key_text(r, key), r, other, columns, full_key, analysis)
    only_b = [key_text(r, key) for r in b_rows.values()]
    return Comparison(changes, only_a, only_b, _findings(a.get("findings") or [], b.get("findings") or []), notes)
