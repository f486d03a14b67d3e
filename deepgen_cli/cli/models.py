"""`deepgen models`: the registry's names with a one-line description and their capability tags each."""

from __future__ import annotations

import typer

from deepgen_cli.cli.options import FORMAT, Format, typer_option

_, FORMAT_OPTION = typer_option(FORMAT, Format.table)
# What each command runs, as a registry tag (efficiency counts and times any model).
TAG_HELP = ("Only models with this tag: trainable (memorize, probe), dense-sources (reuse), batchnorm "
            "(norm-compare), digits, dropout, width-multiplier, torchvision.")


def list_models(pattern: str = typer.Argument("*", help="Shell-style filter, e.g. 'mobilenet*'."),
                tag: str = typer.Option(None, "--tag", metavar="TAG", help=TAG_HELP),
                fmt: Format = FORMAT_OPTION) -> None:
    """List the models deepgen can build (torchvision's are built without weights)."""
    from deepgen_cli.engine import models  # torch-free: the catalog imports no builder
    from deepgen_cli.engine.errors import UsageError
    from deepgen_cli.report.export import emit
    from deepgen_cli.report.page import rows_page
    from deepgen_cli.report.table import Column, text

    if tag is not None and tag not in models.TAGS:
        raise UsageError(f"--tag: unknown tag '{tag}'; valid: {', '.join(models.TAGS)}")
    rows = [{"name": name, "resolution": e.resolution, "width_multiplier": e.width_multiplier,
             "tags": ",".join(sorted(e.tags)), "description": e.description}
            for name in models.names(pattern, tag) for e in [models.entry(name)]]
    columns = [Column("name", "model", text, numeric=False), Column("resolution", "input", text),
               Column("tags", "tags", text, numeric=False),
               Column("description", "description", text, numeric=False)]
    emit(rows_page(rows, columns, "Models"), fmt.value)


def register(app: typer.Typer) -> None:
    app.command("models")(list_models)
