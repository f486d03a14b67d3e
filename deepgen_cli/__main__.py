"""`python -m deepgen_cli` runs the same app as the `deepgen` script."""

from deepgen_cli.cli.app import app

app(prog_name="deepgen")
