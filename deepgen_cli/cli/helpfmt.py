"""Two changes to how typer prints --help, made once when the app is built: a flag shows no `<bool>` value (it
takes none), and help piped into a reader that stops early (`deepgen memorize --help | head -3`) ends with exit 0,
as the tables do (report/table.py), where rich's console exits 1."""

from __future__ import annotations

import os
import sys


def _quiet_broken_pipe(console) -> None:
    console.quiet = True
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test runner's buffer): nothing left to silence
        pass


def install() -> None:
    from typer import core

    from deepgen_cli.cli.deferred import import_rich_utils

    rich_utils = import_rich_utils()

    if getattr(rich_utils, "_deepgen_help", False):
        return
    rich_utils._deepgen_help = True
    make_console = rich_utils._get_rich_console

    def console(stderr: bool = False):
        out = make_console(stderr=stderr)
        if not stderr:
            out.on_broken_pipe = lambda: _quiet_broken_pipe(out)
        return out

    rich_utils._get_rich_console = console
    shown = core.TyperOption.display_type_rich

    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None  # --quiet, --until-fit/--no-until-fit, --help: a switch, no value
        return shown(self, ctx)

    core.TyperOption.display_type_rich = display_type_rich
