"""One exporter per format, looked up by name: a Page (report/page.py) as a rich table, Markdown, CSV, JSON or one
self-contained HTML page. Adding a format is one function here under `@exporter(name)`."""

from __future__ import annotations

import csv
import io
import os
import sys
from typing import Callable, TextIO

from deepgen_cli.report import findings as verdicts
from deepgen_cli.report.page import Page, Section
from deepgen_cli.report.record import dumps

Exporter = Callable[[Page, TextIO], None]
EXPORTERS: dict[str, Exporter] = {}


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    def add(fn: Exporter) -> Exporter:
        if name in EXPORTERS:
            raise ValueError(f"a second exporter for format {name!r}")
        EXPORTERS[name] = fn
        return fn

    return add


def get(name: str) -> Exporter:
    if name not in EXPORTERS:
        raise ValueError(f"no exporter for format {name!r}; known: {', '.join(EXPORTERS)}")
    return EXPORTERS[name]


def render(page: Page, fmt: str, width: int = 240) -> str:
    """The page as text in `fmt` (a table as printed into a pipe: `width` columns, no colour)."""
    out = io.StringIO()
    if fmt == "table":
        to_table(page, out, width)
        return out.getvalue()
    get(fmt)(page, out)
    return out.getvalue()


def emit(page: Page, fmt: str) -> None:
    """The page to stdout in `fmt`."""
    try:
        get(fmt)(page, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed stdout early (`| head -1`): point stdout at /dev/null so the interpreter's final
        # flush does not fail again, and finish quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def cells(section: Section) -> list[list[str]]:
    return [[c.fmt(row.get(c.key)) if row.get(c.key) is not None else "" for c in section.columns]
            for row in section.rows]


def _shown(page: Page) -> list[Section]:
    """The sections of the terse formats: the full page (html) adds the detail ones."""
    return [s for s in page.sections if not s.detail]


@exporter("json")
def to_json(page: Page, out: TextIO) -> None:
    out.write(dumps(page.data))


@exporter("csv")
def to_csv(page: Page, out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=page.csv_fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in page.csv_fields} for row in page.csv_rows)


def md_cell(value: str) -> str:
    """A Markdown table cell: a `|` would end the cell and a line break the row."""
    return value.replace("|", "\\|").replace("\n", " ")


@exporter("markdown")
def to_markdown(page: Page, out: TextIO) -> None:
    lines = [f"{h}  " for h in page.head[:-1]] + page.head[-1:] + ([""] if page.head else [])
    for i, s in enumerate(_shown(page)):
        lines += [""] if i else []
        lines += ["| " + " | ".join(md_cell(c.header) for c in s.columns) + " |",
                  "| " + " | ".join("---:" if c.numeric else "---" for c in s.columns) + " |"]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in cells(s)]
        lines += ["", s.caption] if s.caption else []
        listed = [f"- {verdicts.mark(f)} {f.get('claim')}: {f.get('measured')} (**{verdicts.verdict(f)}**)"
                  for f in s.findings] + [f"- {t}" for t in s.lines] + [f"- legend: {t}" for t in s.legend]
        lines += [""] + listed if listed else []
        lines += [f"- note: {n}" for n in s.notes]  # with nothing listed, right under the table, as ever
    out.write("\n".join(lines) + "\n")


COLOURS = {"yes": "green", "no": "red", "unsure": "yellow"}


def _tables(s: Section, width: int, Table, escape) -> list:
    """The section as rich tables that fit `width` without eliding a cell (report.table.layout): one table, or
    several that each repeat the identity columns, or one 'header: value' line per cell."""
    from deepgen_cli.report.table import layout

    title, caption = escape(s.title) or None, s.caption
    body = cells(s)
    if s.wrap:  # long text cells wrap within their column
        plan = None
    else:
        plan = layout([c.header for c in s.columns], body, width)
        caption = "; ".join(t for t in (caption, plan.caption) if t)
    if plan is None or (not plan.vertical and len(plan.blocks) == 1 and len(plan.blocks[0]) == len(s.columns)
                        and not plan.caption):
        table = Table(title=title, title_justify="left", caption=escape(caption) or None, caption_justify="left")
        for c in s.columns:
            table.add_column(escape(c.header), justify="right" if c.numeric else "left", no_wrap=not s.wrap)
        for row in body:
            table.add_row(*map(escape, row))
        return [table]
    if plan.vertical:
        kept = plan.blocks[0] if plan.blocks else []
        table = Table(title=title, title_justify="left", caption=escape(caption) or None, caption_justify="left",
                      show_header=False, show_lines=True)
        table.add_column("row", justify="left")
        for row in body:
            table.add_row("\n".join(escape(f"{s.columns[i].header}: {row[i]}") for i in kept))
        return [table]
    out = []
    for n, block in enumerate(plan.blocks):
        last = n == len(plan.blocks) - 1
        part = f" ({n + 1}/{len(plan.blocks)})" if len(plan.blocks) > 1 else ""
        table = Table(title=(escape(s.title) + part) if s.title else None, title_justify="left",
                      caption=(escape(caption) or None) if last else None, caption_justify="left")
        for i in block:
            c = s.columns[i]
            table.add_column(escape(plan.headers[i]), justify="right" if c.numeric else "left", no_wrap=True)
        for row in body:
            table.add_row(*(escape(row[i]) for i in block))
        out.append(table)
    return out


@exporter("table")
def to_table(page: Page, out: TextIO, width: int = 240) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from deepgen_cli.report.table import stdout_console

    console = stdout_console() if out is sys.stdout else Console(file=out, width=width, color_system=None,
                                                                  soft_wrap=False)

    def say(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True)

    if page.head:
        say(escape("\n".join(page.head)))
    for s in _shown(page):
        for table in _tables(s, console.width, Table, escape):
            console.print(table)
        for f in s.findings:
            colour = COLOURS[verdicts.outcome(f)]
            say(f"[{colour}]{escape(verdicts.mark(f))}[/] {escape(str(f.get('claim')))}: "
                f"{escape(str(f.get('measured')))} ([bold]{escape(verdicts.verdict(f))}[/])")
        for t in s.lines:
            say(escape(t))
        for t in s.legend:
            say(f"  legend: {escape(t)}")
        for n in s.notes:
            say(f"  note: {escape(n)}")


@exporter("html")
def to_html(page: Page, out: TextIO) -> None:
    from deepgen_cli.report import html

    body = [f"<p>{'<br>'.join(html.escape(t) for t in page.head)}</p>\n"] if page.head else []
    for s in page.sections:
        # one section: the page's <h1> already names it (its title holds the section's)
        several = len(page.sections) > 1
        heading = f"<h2>{html.escape(s.title)}</h2>\n" if several and s.title and s.title != page.title else ""
        parts = [heading, f'<p class="meta">{html.escape(s.meta)}</p>\n' if s.meta else "",
                 html.command(s.command_line) if s.command_line else "",
                 html.table([c.header for c in s.columns], cells(s), [c.numeric for c in s.columns], s.caption),
                 html.verdict_list(s.findings)]
        parts += [f"<p>{html.escape(t)}</p>\n" for t in s.lines]
        parts += [f'<p class="legend">legend: {html.escape(t)}</p>\n' for t in s.legend]
        parts += [f'<p class="note">note: {html.escape(n)}</p>\n' for n in s.notes]
        png = s.plot() if s.plot is not None else None
        parts += [html.image(png, "plot of the table above")] if png else []
        parts += [html.config(s.config)] if s.config else []
        body.append("<section>\n" + "".join(parts) + "</section>\n")
    out.write(html.page(page.title, body))
