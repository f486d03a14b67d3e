"""PNG plots drawn from a finished Report (matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

from deepgen_cli.engine.errors import UsageError


def check_path(path: str, flag: str = "--plot") -> None:
    """Fail before the run, not after it, when the plot cannot be written."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"{flag}: '{path}' must end in .png")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"{flag}: cannot write in '{parent}'; choose a writable path")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plotter(path: str | None, module: str, function: str):
    """A callable that draws `deepgen_cli.report.plots.<module>.<function>(report, path)` once the report is
    complete, or None without --plot; the path is checked now, before the run."""
    if not path:
        return None
    check_path(path)
    import importlib

    draw = getattr(importlib.import_module(f"deepgen_cli.report.plots.{module}"), function)
    return lambda report: draw(report, path)
