"""What every exporter renders (report/export.py): a Page of Sections (a table with the findings, lines, legend
and notes under it) and the data behind it (what JSON writes, the rows CSV writes). A run, `report`, `compare`,
`reproduce` and `models` each build one; the format is the exporter's business alone."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Callable

from deepgen_cli.report import findings as verdicts
from deepgen_cli.report.record import Report
from deepgen_cli.report.table import Column, text


@dataclass
class Section:
    title: str  # the table's title (table) and heading (html); Markdown tables have none
    columns: list[Column]
    rows: list[dict]  # each cell is column.fmt(row[column.key]); a missing or null value is blank
    caption: str = ""  # a line on what the table holds (reproduce's count of verdicts)
    findings: list[dict] = field(default_factory=list)  # as the record holds them
    lines: list[str] = field(default_factory=list)  # plain lines under the findings (compare's verdicts, rows)
    legend: list[str] = field(default_factory=list)  # what the marks shown mean
    notes: list[str] = field(default_factory=list)
    wrap: bool = False  # long text cells wrap (claims, descriptions); numeric tables keep one line a row
    meta: str = ""  # provenance (html)
    command_line: str = ""  # the command that wrote the record, as typed (html)
    config: dict = field(default_factory=dict)  # the record's config, every option of the run (html)
    plot: Callable[[], bytes | None] | None = None  # the command's plot as PNG, drawn only by the html page
    detail: bool = False  # only on the full page (html): reproduce's records under its claims


@dataclass
class Page:
    title: str  # html's <title> and <h1>; a page of one section shows no heading of its own
    sections: list[Section]
    data: object  # what JSON writes: the record, the comparison, the claims
    csv_fields: list[str]  # what CSV writes: these fields of csv_rows, raw
    csv_rows: list[dict]
    head: list[str] = field(default_factory=list)  # lines above the tables (compare's A = and B =)


def scalar_fields(rows: list[dict]) -> list[str]:
    """The keys of `rows` holding a scalar somewhere, in order of first appearance (raw samples and curves stay in
    the JSON)."""
    out: list[str] = []
    for row in rows:
        out += [k for k, v in row.items() if k not in out and (v is None or isinstance(v, (str, int, float, bool)))]
    return out


def command_line(argv) -> str:
    """'deepgen memorize --noise 0,1' from the record's environment.argv (the arguments after the program name),
    quoted as a shell would need them; blank where the record has none."""
    if isinstance(argv, list) and argv:
        return "deepgen " + shlex.join(str(a) for a in argv)
    return ""


def with_errors(rows: list[dict], columns: list[Column]) -> list[Column]:
    """An `error` column, last, only when a row failed (a diverged run, a model that would not build)."""
    if any(row.get("error") for row in rows) and all(c.key != "error" for c in columns):
        return [*columns, Column("error", "error", text, numeric=False)]
    return columns


def record_section(report: Report, columns: list[Column], title: str,
                   plot: Callable[[], bytes | None] | None = None, detail: bool = False) -> Section:
    """A record's table, its verdicts with their legend, its notes and (html) its provenance and plot."""
    env = report.environment or {}
    meta = (f"deepgen {report.command}, deepgen {report.deepgen_version}, {report.time_utc}, status {report.status}, "
            f"seed {report.seed}, device {env.get('device', '?')}, torch {env.get('torch', '?')}")
    return Section(title, with_errors(report.rows, columns), report.rows, findings=list(report.findings),
                   legend=verdicts.legends(report.findings), notes=list(report.notes), meta=meta, plot=plot,
                   detail=detail, command_line=command_line(env.get("argv")), config=dict(report.config or {}))


def record_page(report: Report, columns: list[Column], title: str,
                plot: Callable[[], bytes | None] | None = None) -> Page:
    """A record as its run prints it: JSON is the record itself, CSV its rows' scalar fields."""
    return Page(f"deepgen {report.command}: {title}", [record_section(report, columns, title, plot)],
                report.to_dict(), scalar_fields(report.rows), report.rows)


def rows_page(rows: list[dict], columns: list[Column], title: str) -> Page:
    """A plain list of rows (no record around it, as `deepgen models` lists)."""
    return Page(title, [Section(title, columns, rows, wrap=True)], rows,
                scalar_fields(rows) or [c.key for c in columns], rows)
