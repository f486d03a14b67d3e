"""`deepgen report RECORD.json...`: saved records rendered as their run rendered them, or as one HTML page."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from deepgen_cli.cli.options import PAGE_FORMAT, PLOT, PageFormat, typer_option
from deepgen_cli.cli.records import draw, emit_whole, merged, plot_png, warnings
from deepgen_cli.engine.errors import UsageError


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
        from deepgen_cli.report.page import record_page

        kind, merged_report, columns, title = merged(records)
        where = records[0] if len(records) == 1 else ", ".join(records)
        if plot:
            if kind.plot is None:
                raise UsageError(f"--plot: deepgen {kind.name} has no plot")
            from deepgen_cli.report.plots import check_path

            check_path(plot)
            draw(kind, merged_report, plot, f"'{where}'")
        for line in warnings(merged_report, columns, format.value):
            sys.stderr.write(f"deepgen: warning: {line}\n")
        # the plot is drawn only where the page shows it (html)
        page = record_page(merged_report, columns, title, lambda: plot_png(kind, merged_report, f"'{where}'"))
        emit_whole(page, format.value, "RECORD", where)
