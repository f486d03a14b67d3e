"""`deepgen compare`'s page: a Comparison (report/compare.py) as a table of changes, the verdicts of both records
and the rows in one only; JSON writes the comparison, CSV its changes as raw numbers."""

from __future__ import annotations

import dataclasses

from deepgen_cli.report import findings as verdicts
from deepgen_cli.report.compare import Comparison
from deepgen_cli.report.page import Page, Section
from deepgen_cli.report.table import Column, text


def describe(path: str, record: dict) -> str:
    env = record.get("environment") or {}
    return (f"{path}: {env.get('device', '?')} ({env.get('device_name', '?')}), {env.get('threads', '?')} threads, "
            f"torch {env.get('torch', '?')}, deepgen {record.get('deepgen_version', '?')}, seed {record.get('seed')}, "
            f"{record.get('time_utc', '')}")


def _lines(cmp: Comparison, fmt: dict) -> list[list[str]]:
    return [[c.row, c.quantity, fmt[c.column](c.a), fmt[c.column](c.b), c.change_text(), c.detail_text(), c.verdict]
            for c in cmp.changes]


HEADERS = ["row", "quantity", "A", "B", "B/A or B-A", "spread", "verdict"]
NUMERIC = [False, False, True, True, True, False, False]
CSV_FIELDS = ["row", "quantity", "kind", "a", "b", "ratio", "difference", "low", "high", "verdict"]


def _finding_line(status: str, fa: dict | None, fb: dict | None) -> str:
    """'verdict changed (yes -> ?): claim; A: ...; B: ... (B cannot tell: why)'."""
    f = fa or fb
    line = f"{status} ({verdicts.word(fa)} -> {verdicts.word(fb)}): {f.get('claim')}"
    if fa is not None and fb is not None and fa.get("measured") != fb.get("measured"):
        line += f"; A: {fa.get('measured')}; B: {fb.get('measured')}"
    elif f.get("measured"):
        line += f": {f.get('measured')}"
    said = []
    for side, g in (("A", fa), ("B", fb)):
        if g is not None and verdicts.unsure(g):
            said.append(f"{side} cannot tell: {g.get('reason') or 'no reason recorded'}")
        if g is not None and g.get("fragile"):
            said.append(f"{side} {verdicts.FRAGILE}")
    return f"{line} ({'; '.join(said)})" if said else line


def _rows_notes(cmp: Comparison) -> list[str]:
    notes = list(cmp.notes)
    if cmp.only_a:
        notes.append(f"rows only in A: {'; '.join(cmp.only_a)}")
    if cmp.only_b:
        notes.append(f"rows only in B: {'; '.join(cmp.only_b)}")
    return notes


def compare_page(cmp: Comparison, columns: list[Column], a_text: str, b_text: str, command: str) -> Page:
    """The comparison as a page; `columns` are the command's own (their formatters show A and B)."""
    formatters = {c.key: c.fmt for c in columns}
    rows = [dict(zip(HEADERS, cells)) for cells in _lines(cmp, formatters)]
    shown = [f for _, fa, fb in cmp.findings for f in (fa, fb) if f is not None]
    table = Section(f"Compare: deepgen {command}", [Column(h, h, text, n) for h, n in zip(HEADERS, NUMERIC)], rows,
                    lines=[_finding_line(*f) for f in cmp.findings] + _rows_notes(cmp),
                    legend=verdicts.legends(shown, bases=False))
    data = {"command": command, "a": a_text, "b": b_text, "changes": [dataclasses.asdict(c) for c in cmp.changes],
            "only_in_a": cmp.only_a, "only_in_b": cmp.only_b, "notes": cmp.notes,
            "findings": [{"status": s, "a": fa, "b": fb} for s, fa, fb in cmp.findings]}
    return Page(f"deepgen compare: {command}", [table], data, CSV_FIELDS,
                [dataclasses.asdict(c) for c in cmp.changes], head=[f"A = {a_text}", f"B = {b_text}"])
