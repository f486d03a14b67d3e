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


def piped_width() -> int:
    """The width of a table printed into a pipe or file: a wide fixed width, so that a table is not squeezed
    into 80 columns, unless COLUMNS asks for one (`COLUMNS=80 deepgen ... | less`)."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 20 else 240


def stdout_console() -> Console:
    console = _Stdout(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal:
        console = _Stdout(file=sys.stdout, width=piped_width(), color_system=None, soft_wrap=False)
    return console


# Fitting a table into the console's width without cutting a cell: rich elides a no-wrap cell that does not fit
# ('6…' for a gap of 62.4%), so a table is laid out here first and rich only draws what fits.
MAX_PARTS = 4
BORDER = 3  # each column's "│ " and its right pad; the table adds one more "│"


@dataclass(frozen=True)
class Layout:
    """How a table is shown: `blocks` of column indices (each a table of its own, the identity columns repeated
    in each), with `headers` (wrapped, "\\n" between lines) per column, or `vertical` (one 'header: value' line per
    cell); `caption` names the columns left out because they hold one value in every row (or none)."""

    blocks: list[list[int]]
    headers: list[str]
    caption: str = ""
    vertical: bool = False


def _width(columns: list[int], widths: list[int]) -> int:
    return sum(widths[i] + BORDER for i in columns) + 1


def _wrap(header: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(header, width, break_long_words=False, break_on_hyphens=False)) or header


def layout(headers: list[str], rows: list[list[str]], width: int) -> Layout:
    """The layout of a table of `headers` and cell text `rows` in `width` columns: the whole table when it fits;
    else the columns constant over the rows moved into a caption and headers wrapped at word breaks; else split
    into several tables one under another, each repeating the identity columns (the fewest leading columns
    whose values tell the rows apart); else, when not even those fit (or in more than MAX_PARTS tables), one 'header: value' line per cell."""
    from rich.cells import cell_len

    n = len(headers)
    cell_w = [max((cell_len(r[i]) for r in rows), default=0) for i in range(n)]
    full = [max(cell_w[i], max((cell_len(line) for line in headers[i].split("\n")), default=0)) for i in range(n)]
    if _width(list(range(n)), full) <= width:
        return Layout([list(range(n))], list(headers))
    kept, dropped, empty = [], [], []
    for i in range(n):
        values = {r[i] for r in rows}
        if values == {""}:
            empty.append(headers[i])
        elif len(rows) > 1 and len(values) == 1:
            dropped.append(f"{headers[i]} {rows[0][i]}")
        else:
            kept.append(i)
    caption = "; ".join(([f"in every row: {', '.join(dropped)}"] if dropped else [])
                        + ([f"no values: {', '.join(empty)}"] if empty else []))
    if not kept:
        return Layout([], list(headers), caption, vertical=True)
    if _width(kept, full) <= width:
        return Layout([kept], list(headers), caption)
    words = [max(cell_len(w) for w in headers[i].split()) if headers[i].split() else 0 for i in range(n)]
    narrow = [max(cell_w[i], words[i]) for i in range(n)]
    if _width(kept, narrow) <= width:
        # the room left widens the headers that wrap, left to right, so that as few as can wrap do
        slack = width - _width(kept, narrow)
        for i in kept:
            grow = min(full[i] - narrow[i], slack)
            narrow[i] += grow
            slack -= grow
        return Layout([kept], [_wrap(headers[i], narrow[i]) for i in range(n)], caption)
    wrapped = [_wrap(headers[i], narrow[i]) for i in range(n)]
    ident: list[int] = []
    for i in kept:
        ident.append(i)
        if len({tuple(r[j] for j in ident) for r in rows}) == len(rows):
            break
    blocks, current = [], list(ident)
    for i in kept:
        if i in ident:
            continue
        if len(current) > len(ident) and _width(current + [i], narrow) > width:
            blocks.append(current)
            current = list(ident)
        current.append(i)
    blocks.append(current)
    # more parts than MAX_PARTS: a row is read across too many tables; one line per cell reads better
    if len(blocks) > MAX_PARTS or any(_width(b, narrow) > width for b in blocks):
        return Layout([kept], list(headers), caption, vertical=True)
    return Layout(blocks, wrapped, caption)
