"""`deepgen models`: the registry's names with a one-line description each."""

from __future__ import annotations

import typer

from deepgen_cli.cli.options import FORMAT, Format, typer_option

_, FORMAT_OPTION = typer_option(FORMAT, Format.table)


def list_models(pattern: str = typer.Argument("*", help="Shell-style filter, e.g. 'mobilenet*'."),
                fmt: Format = FORMAT_OPTION) -> None:
    """List the models deepgen can build."""
    from deepgen_cli.engine import models
    from deepgen_cli.report.export import emit
    from deepgen_cli.report.page import rows_page
    from deepgen_cli.report.table import Column, text

    rows = [{"name": name, "resolution": models.entry(name).resolution,
             "width_multiplier": models.entry(name).width_multiplier, "description": models.entry(name).description}
            for name in models.names(pattern)]
    columns = [Column("name", "model", text, numeric=False), Column("resolution", "input", text),
               Column("description", "description", text, numeric=False)]
    emit(rows_page(rows, columns, "Models"), fmt.value)


def register(app: typer.Typer) -> None:
    app.command("models")(list_models)
