"""`deepgen report RECORD.json...`: saved records rendered as their run rendered them, or as one HTML page."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import typer

from deepgen_cli.cli import kinds
from deepgen_cli.cli.options import PAGE_FORMAT, PLOT, PageFormat, typer_option
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.record import Report, read_record


ReportFormat = PageFormat  # compare reads it by this name


def load(paths: list[str]) -> tuple[kinds.Kind, list[tuple[str, dict]], object]:
    """The records at `paths` (checked by read_record), their command's Kind and the first one's config."""
    loaded = [(p, read_record(p, "RECORD")) for p in paths]
    kind = kinds.get(loaded[0][1]["command"], "RECORD")
    configs = [kind.config(rec["config"]) for _, rec in loaded]
    titles = {kind.view(c)[1] for c in configs}
    if len(titles) > 1:
        raise UsageError(f"RECORD: these records hold different tables ({', '.join(sorted(titles))}); "
                         f"render them one at a time")
    return kind, loaded, configs[0]


def merged(paths: list[str]) -> tuple[kinds.Kind, Report, list, str]:
    """The records at `paths` as one Report, with the columns and title their run used."""
    from deepgen_cli.report.saved import merge

    kind, loaded, config = load(paths)
    columns, title = kind.view(config)
    for path, record in loaded:  # a value a column cannot show (a string where a number goes) is not deepgen's
        for i, row in enumerate(record["rows"]):
            for c in columns:
                try:
                    if row.get(c.key) is not None:
                        c.fmt(row[c.key])
                except (TypeError, ValueError):
                    raise UsageError(f"RECORD: '{path}' is not a deepgen record: row {i} has {c.key} = "
                                     f"{json.dumps(row[c.key])[:40]}, which its column cannot show") from None
    return kind, merge(loaded, kind.key(config), kind.sweep), columns, title


def plot_png(kind: kinds.Kind, report: Report) -> bytes | None:
    """The command's own plot of `report` as PNG bytes (drawn in a temporary folder), or None if it has none or
    there is nothing to draw."""
    if kind.plot is None or not any(not r.get("error") for r in report.rows):
        return None
    from deepgen_cli.report.plots import plotter

    with tempfile.TemporaryDirectory(prefix="deepgen-plot-") as tmp:
        path = str(Path(tmp) / "plot.png")
        plotter(path, *kind.plot)(report)
        return Path(path).read_bytes()


def html_page(kind: kinds.Kind, report: Report, columns, title: str) -> str:
    from deepgen_cli.report import html

    return html.page(f"deepgen {kind.name}: {title}", [html.section(report, columns, title, plot_png(kind, report))])


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        records: List[str] = typer.Argument(..., metavar="RECORD.json...",
                                            help="JSON records written by --output; several of one command are "
                                                 "merged, rows keyed as --resume keys them."),
        format: PageFormat = typer_option(PAGE_FORMAT, PageFormat.table)[1],
        plot: Optional[str] = typer_option(PLOT, None)[1],  # the record's command's own plot
    ) -> None:
        """Render saved records exactly as their run did, or as one HTML page."""
        from deepgen_cli.cli.options import Format
        from deepgen_cli.cli.session import emit

        kind, merged_report, columns, title = merged(records)
        if plot:
            if kind.plot is None:
                raise UsageError(f"--plot: deepgen {kind.name} has no plot")
            from deepgen_cli.report.plots import plotter

            plotter(plot, *kind.plot)(merged_report)
        if format == ReportFormat.html:
            sys.stdout.write(html_page(kind, merged_report, columns, title))
            sys.stdout.flush()
        else:
            emit(merged_report, Format(format.value), columns, title)
