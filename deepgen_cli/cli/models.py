"""`deepgen models`: the registry's names with a one-line description each."""

from __future__ import annotations

import typer

from deepgen_cli.cli import options
from deepgen_cli.engine import models as registry


def models(pattern: str = typer.Argument("*", help="Shell-style filter, e.g. 'mobilenet*'."),
           fmt: options.Format = options.FORMAT) -> None:
    """List the models deepgen can build."""
    import csv
    import json
    import sys

    rows = []
    for name in registry.names(pattern):
        e = registry.entry(name)
        rows.append({"name": name, "resolution": e.resolution, "width_multiplier": e.width_multiplier,
                     "description": e.description})
    if fmt == options.Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif fmt == options.Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["name"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif fmt == options.Format.markdown:
        sys.stdout.write("| model | input | description |\n| --- | ---: | --- |\n")
        sys.stdout.writelines(f"| {r['name']} | {r['resolution']} | {r['description']} |\n" for r in rows)
    else:
        from rich.table import Table

        from deepgen_cli.report.table import stdout_console

        table = Table(title="Models", title_justify="left")
        for header in ("model", "input", "description"):
            table.add_column(header)
        for r in rows:
            table.add_row(r["name"], str(r["resolution"]), r["description"])
        stdout_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
