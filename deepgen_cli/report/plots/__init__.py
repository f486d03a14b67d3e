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


def finish(fig, ax, path: str | None, *, xlabel: str, ylabel: str, title: str, legend_loc: str = "best",
           legend: dict | None = None) -> None:
    """A one-axes plot's labels, title, grid and legend (`legend`: its keywords, e.g. a place outside the axes),
    then the PNG at 120 dpi; with no `path` the laid-out figure is left open for the caller."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, **(legend or {"loc": legend_loc}))
    fig.tight_layout()
    if path is None:
        return
    fig.savefig(path, dpi=120)
    pyplot().close(fig)


def plotter(path: str | None, module: str, function: str):
    """A callable that draws `deepgen_cli.report.plots.<module>.<function>(report, path)` once the report is
    complete, or None without --plot; the path is checked now, before the run."""
    if not path:
        return None
    check_path(path)
    import importlib

    draw = getattr(importlib.import_module(f"deepgen_cli.report.plots.{module}"), function)
    return lambda report: draw(report, path)
