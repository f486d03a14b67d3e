"""Human renderings of a Report: a rich table or Markdown, with the findings under it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from rich.console import Console
from rich.table import Table

from deepgen_cli.report.record import Report


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Callable[[object], str] = str
    numeric: bool = True


def count(value) -> str:
    """1248424 -> 1.25M; 568740352 -> 568.7M; 2834000000 -> 2.83G."""
    if value is None:
        return ""
    v = float(value)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            digits = 2 if abs(v) / scale < 10 else 1
            return f"{v / scale:.{digits}f}{unit}"
    return f"{v:g}"


def fixed(digits: int) -> Callable[[object], str]:
    return lambda v: "" if v is None else f"{float(v):.{digits}f}"


def percent(v) -> str:
    return "" if v is None else f"{100 * float(v):.1f}%"


def ratio(v) -> str:
    return "" if v is None else f"{float(v):.2f}x"


def text(v) -> str:
    return "" if v is None else str(v)


def _with_errors(report: Report, columns: list[Column]) -> list[Column]:
    """An `error` column, last, only when a row failed (a diverged run, a model that would not build)."""
    if any(row.get("error") for row in report.rows) and all(c.key != "error" for c in columns):
        return [*columns, Column("error", "error", text, numeric=False)]
    return columns


def _cells(report: Report, columns: list[Column]) -> list[list[str]]:
    return [[c.fmt(row.get(c.key)) if row.get(c.key) is not None else "" for c in columns]
            for row in report.rows]


# Only a measured finding can reproduce a claim; the others check it on paper and say so.
VERDICTS = {"measured": "claim reproduced", "architecture": "holds by the architecture",
            "published": "holds in the published numbers"}
MARKS = {"architecture": "=", "published": "§"}  # measured: ✓ or ✗
LEGEND = ("✓/✗ measured in this run; = exact arithmetic on the architecture; § published numbers "
          "(papers, torchvision's metadata): these two check a claim but do not reproduce it")


def verdict_word(reproduced) -> str:
    """A finding's three outcomes: yes, no, and cannot tell (reproduced is None)."""
    return "cannot tell" if reproduced is None else ("yes" if reproduced else "no")


def _verdict(f) -> str:
    text = f"{VERDICTS[f.basis]}: {verdict_word(f.reproduced)}"
    reason = getattr(f, "reason", "") if f.reproduced is None else ""
    return f"{text} ({reason})" if reason else text


def _mark(f) -> str:
    if f.reproduced is None:
        return "?"
    return MARKS.get(f.basis) or ("✓" if f.reproduced else "✗")


def _legend(report: Report) -> str | None:
    return LEGEND if any(f.basis != "measured" for f in report.findings) else None


class _Stdout(Console):
    def on_broken_pipe(self) -> None:
        # The reader closed stdout early (`| head -3`): print nothing more and finish as a CSV or JSON run
        # does (exit 0), where rich's default exits 1 as if the run had failed.
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def stdout_console() -> Console:
    # Piped output gets a wide fixed width so a table is not squeezed into 80 columns.
    console = _Stdout(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal:
        console = _Stdout(file=sys.stdout, width=240, color_system=None, soft_wrap=False)
    return console


def print_table(report: Report, columns: list[Column], title: str, console: Console | None = None) -> None:
    console = console or stdout_console()
    columns = _with_errors(report, columns)
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c.header, justify="right" if c.numeric else "left", no_wrap=True)
    for cells in _cells(report, columns):
        table.add_row(*cells)
    console.print(table)
    for f in report.findings:
        colour = "yellow" if f.reproduced is None else ("green" if f.reproduced else "red")
        mark = f"[{colour}]{_mark(f)}[/]"
        console.print(f"{mark} {f.claim}: {f.measured} ([bold]{_verdict(f)}[/])", highlight=False, soft_wrap=True)
    if _legend(report):
        console.print(f"  legend: {_legend(report)}", highlight=False, soft_wrap=True)
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)


def to_markdown(report: Report, columns: list[Column]) -> str:
    columns = _with_errors(report, columns)
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "| " + " | ".join("---:" if c.numeric else "---" for c in columns) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in _cells(report, columns)]
    if report.findings:
        lines.append("")
        lines += [f"- {_mark(f)} {f.claim}: {f.measured} (**{_verdict(f)}**)" for f in report.findings]
        lines += [f"- legend: {_legend(report)}"] if _legend(report) else []
    lines += [f"- note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def emit_rows(rows: list[dict], fmt: str, columns: list[Column], title: str) -> None:
    """A plain list of rows (no record around it) to stdout in `fmt`: json, csv, markdown or a table."""
    import csv
    import json

    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [c.key for c in columns],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif fmt == "markdown":
        lines = ["| " + " | ".join(c.header for c in columns) + " |",
                 "| " + " | ".join("---:" if c.numeric else "---" for c in columns) + " |"]
        # a "|" inside a cell would end it: Markdown tables escape it
        lines += ["| " + " | ".join(c.fmt(r.get(c.key)).replace("|", "\\|") for c in columns) + " |" for r in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        table = Table(title=title, title_justify="left")
        for c in columns:
            table.add_column(c.header, justify="right" if c.numeric else "left")
        for r in rows:
            table.add_row(*(c.fmt(r.get(c.key)) for c in columns))
        stdout_console().print(table)
