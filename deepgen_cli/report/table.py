"""A table's columns (key, header, how a value is shown) and the formatters they use; the console a table prints
to. The exporters that draw tables are in report/export.py."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from rich.console import Console


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Callable[[object], str] = str
    numeric: bool = True


def count(value) -> str:
    """1248424 -> 1.25M; 568740352 -> 568.7M; 2834000000 -> 2.83G."""
    if value is None:
        return ""
    v = float(value)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            digits = 2 if abs(v) / scale < 10 else 1
            return f"{v / scale:.{digits}f}{unit}"
    return f"{v:g}"


def fixed(digits: int) -> Callable[[object], str]:
    return lambda v: "" if v is None else f"{float(v):.{digits}f}"


def percent(v) -> str:
    return "" if v is None else f"{100 * float(v):.1f}%"


def ratio(v) -> str:
    return "" if v is None else f"{float(v):.2f}x"


def text(v) -> str:
    return "" if v is None else str(v)


class _Stdout(Console):
    def on_broken_pipe(self) -> None:
        # The reader closed stdout early (`| head -3`): print nothing more and finish as a CSV or JSON run
        # does (exit 0), where rich's default exits 1 as if the run had failed.
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def stdout_console() -> Console:
    # Piped output gets a wide fixed width so a table is not squeezed into 80 columns.
    console = _Stdout(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal:
        console = _Stdout(file=sys.stdout, width=240, color_system=None, soft_wrap=False)
    return console
