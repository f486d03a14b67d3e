"""The `deepgen` script and `python -m deepgen_cli`: the app, with a Ctrl-C during start-up (a run's command
imports torch when it is built: a second or more) ending as one during a run does: one line, exit 130, no
traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from deepgen_cli.cli.app import app
    except KeyboardInterrupt:
        sys.stderr.write("deepgen: interrupted\n")
        sys.exit(130)
    app(prog_name="deepgen")
