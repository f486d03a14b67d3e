"""`deepgen compare A.json B.json`: two records of one command side by side (CPU vs GPU, two versions, two seeds)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
from typing import Optional

import typer

from deepgen_cli.cli import kinds
from deepgen_cli.cli.options import PAGE_FORMAT, typer_option
from deepgen_cli.cli.report import ReportFormat
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.report.compare import Comparison, compare
from deepgen_cli.report.record import read_record


def _describe(path: str, record: dict) -> str:
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
        return "-" if f is None else ("yes" if f.get("reproduced") else "no")

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


def render(cmp: Comparison, fmt: ReportFormat, columns, a_text: str, b_text: str, command: str) -> str:
    formatters = {c.key: c.fmt for c in columns}
    lines = _lines(cmp, formatters)
    if fmt == ReportFormat.json:
        return json.dumps({"command": command, "a": a_text, "b": b_text,
                           "changes": [dataclasses.asdict(c) for c in cmp.changes],
                           "only_in_a": cmp.only_a, "only_in_b": cmp.only_b, "notes": cmp.notes,
                           "findings": [{"status": s, "a": fa, "b": fb} for s, fa, fb in cmp.findings]}, indent=2) + "\n"
    if fmt == ReportFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["row", "quantity", "kind", "a", "b", "ratio", "difference", "low", "high", "verdict"])
        writer.writerows([c.row, c.quantity, c.kind, c.a, c.b, _blank(c.ratio), _blank(c.difference), _blank(c.low),
                          _blank(c.high), c.verdict] for c in cmp.changes)
        return out.getvalue()
    if fmt == ReportFormat.html:
        from deepgen_cli.report import html

        body = [f"<p>A = {html.escape(a_text)}<br>B = {html.escape(b_text)}</p>\n", html.table(HEADERS, lines, NUMERIC)]
        body += [f"<p>{html.escape(t)}</p>\n" for t in _finding_lines(cmp) + _rows_notes(cmp)]
        return html.page(f"deepgen compare: {command}", body)
    if fmt == ReportFormat.markdown:
        md = [f"A = {a_text}  ", f"B = {b_text}", "", "| " + " | ".join(HEADERS) + " |",
              "| " + " | ".join("---:" if n else "---" for n in NUMERIC) + " |"]
        md += ["| " + " | ".join(cells) + " |" for cells in lines]
        md += [""] + [f"- {t}" for t in _finding_lines(cmp) + _rows_notes(cmp)]
        return "\n".join(md) + "\n"
    return ""  # table: printed by rich


def _has_latency(columns) -> bool:
    return any("latency" in c.key for c in columns)


def _blank(v) -> str:
    return "" if v is None else repr(v)


def _table(cmp: Comparison, columns, a_text: str, b_text: str, command: str) -> None:
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


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare_command(
        a: str = typer.Argument(..., metavar="A.json", help="The record to compare against (the baseline)."),
        b: str = typer.Argument(..., metavar="B.json", help="The record compared with it."),
        format: ReportFormat = typer_option(PAGE_FORMAT, ReportFormat.table)[1],
        fail_if_slower: Optional[float] = typer.Option(
            None, "--fail-if-slower", metavar="PCT", min=0,
            help="Exit 1 when any latency in B is more than PCT percent above A's (B/A > 1 + PCT/100)."),
    ) -> None:
        """Two records of one command side by side: ratios, differences, changed verdicts; exit 0 unless --fail-if-slower."""
        ra, rb = read_record(a, "A.json"), read_record(b, "B.json")
        if ra["command"] != rb["command"]:
            raise UsageError(f"B.json: '{b}' is a record of `deepgen {rb['command']}`, '{a}' of "
                             f"`deepgen {ra['command']}`; compare records of one command")
        kind = kinds.get(ra["command"], "A.json")
        config = kind.config(ra["config"])
        columns, _ = kind.view(config)
        cmp = compare(ra, rb, columns, kind.key(config))
        if fail_if_slower is not None and cmp.slowest() is None:
            # a gate that cannot fail would pass a pipeline silently: say it has nothing to gate on
            raise UsageError(f"--fail-if-slower: no latency of A and B to compare (deepgen {kind.name} records "
                             f"{'hold no latency' if not _has_latency(columns) else 'have no matching rows with one'})"
                             f"; drop it or compare efficiency records")
        a_text, b_text = _describe(a, ra), _describe(b, rb)
        if format == ReportFormat.table:
            _table(cmp, columns, a_text, b_text, kind.name)
        else:
            sys.stdout.write(render(cmp, format, columns, a_text, b_text, kind.name))
        sys.stdout.flush()
        worst = cmp.slowest()
        if fail_if_slower is not None and worst is not None and worst.ratio > 1 + fail_if_slower / 100:
            raise RunError(f"--fail-if-slower {fail_if_slower:g}: {worst.quantity} of {worst.row} is {worst.ratio:.2f}x "
                           f"A's ({worst.a:.4g} -> {worst.b:.4g}), more than {fail_if_slower:g}% slower")
