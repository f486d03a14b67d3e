"""`deepgen compare`'s output: a Comparison (report/compare.py) as a rich table, JSON, CSV, HTML or Markdown."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

from deepgen_cli.report.compare import Comparison
from deepgen_cli.report.table import verdict_word


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


def _finding_lines(cmp: Comparison) -> list[str]:
    def mark(f) -> str:
        return "-" if f is None else verdict_word(f.get("reproduced"))

    out = []
    for status, fa, fb in cmp.findings:
        f = fa or fb
        line = f"{status} ({mark(fa)} -> {mark(fb)}): {f.get('claim')}"
        if fa is not None and fb is not None and fa.get("measured") != fb.get("measured"):
            line += f"; A: {fa.get('measured')}; B: {fb.get('measured')}"
        elif f.get("measured"):
            line += f": {f.get('measured')}"
        out.append(line)
    return out


def _rows_notes(cmp: Comparison) -> list[str]:
    notes = list(cmp.notes)
    if cmp.only_a:
        notes.append(f"rows only in A: {'; '.join(cmp.only_a)}")
    if cmp.only_b:
        notes.append(f"rows only in B: {'; '.join(cmp.only_b)}")
    return notes


def render(cmp: Comparison, fmt: str, columns, a_text: str, b_text: str, command: str) -> str:
    """The comparison as json, csv, html or markdown text (the table format is printed by print_table)."""
    formatters = {c.key: c.fmt for c in columns}
    lines = _lines(cmp, formatters)
    if fmt == "json":
        return json.dumps({"command": command, "a": a_text, "b": b_text,
                           "changes": [dataclasses.asdict(c) for c in cmp.changes],
                           "only_in_a": cmp.only_a, "only_in_b": cmp.only_b, "notes": cmp.notes,
                           "findings": [{"status": s, "a": fa, "b": fb} for s, fa, fb in cmp.findings]}, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["row", "quantity", "kind", "a", "b", "ratio", "difference", "low", "high", "verdict"])
        writer.writerows([c.row, c.quantity, c.kind, c.a, c.b, _blank(c.ratio), _blank(c.difference), _blank(c.low),
                          _blank(c.high), c.verdict] for c in cmp.changes)
        return out.getvalue()
    if fmt == "html":
        from deepgen_cli.report import html

        body = [f"<p>A = {html.escape(a_text)}<br>B = {html.escape(b_text)}</p>\n", html.table(HEADERS, lines, NUMERIC)]
        body += [f"<p>{html.escape(t)}</p>\n" for t in _finding_lines(cmp) + _rows_notes(cmp)]
        return html.page(f"deepgen compare: {command}", body)
    if fmt == "markdown":
        md = [f"A = {a_text}  ", f"B = {b_text}", "", "| " + " | ".join(HEADERS) + " |",
              "| " + " | ".join("---:" if n else "---" for n in NUMERIC) + " |"]
        md += ["| " + " | ".join(cells) + " |" for cells in lines]
        md += [""] + [f"- {t}" for t in _finding_lines(cmp) + _rows_notes(cmp)]
        return "\n".join(md) + "\n"
    return ""  # table: printed by rich


def _blank(v) -> str:
    return "" if v is None else repr(v)


def print_table(cmp: Comparison, columns, a_text: str, b_text: str, command: str) -> None:
    from rich.table import Table

    from deepgen_cli.report.table import stdout_console

    console = stdout_console()
    console.print(f"A = {a_text}\nB = {b_text}", highlight=False, soft_wrap=True)
    table = Table(title=f"Compare: deepgen {command}", title_justify="left")
    for h, n in zip(HEADERS, NUMERIC):
        table.add_column(h, justify="right" if n else "left", no_wrap=True)
    for cells in _lines(cmp, {c.key: c.fmt for c in columns}):
        table.add_row(*cells)
    console.print(table)
    for t in _finding_lines(cmp) + _rows_notes(cmp):
        console.print(t, highlight=False, soft_wrap=True)
