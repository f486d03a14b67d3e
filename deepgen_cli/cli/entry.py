"""The `deepgen` script and `python -m deepgen_cli`: the app, with a Ctrl-C or SIGTERM during start-up (a run's
command imports torch when it is built: a second or more) ending as one during a run does: one line, exit 130, no
traceback."""

from __future__ import annotations

import sys


def main() -> None:
    from deepgen_cli.cli import signals

    signals.install()  # first: SIGTERM while torch imports is a stop like Ctrl-C, not a silent exit 143
    try:
        try:
            from deepgen_cli.cli.app import app
        except KeyboardInterrupt:
            sys.stderr.write("deepgen: interrupted\n")
            sys.exit(130)
        app(prog_name="deepgen")
    finally:
        signals.ending()  # a signal during the interpreter's exit clean-up (torch's) is ignored
