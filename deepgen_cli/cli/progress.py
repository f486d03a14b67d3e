"""Progress on stderr over a whole run: rows done of the planned total, time so far and time left.

On a terminal a live rich display (a bar, with the current row's epoch line under it); off a terminal (CI logs,
`2>run.log`, nohup) plain lines: one per finished row and one at least every `every_s` seconds during a row.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

# Off a terminal, a line at least this often during a long row: often enough that a CI log shows a run is
# alive, rare enough that a 10-minute row writes 20 lines, not thousands.
PLAIN_EVERY_S = 30.0


# Rows that finish within this many seconds of each other are one burst (probe scores a snapshot's layers one
# after another in a second; reuse reports a network's cells at once): the estimate waits until a burst is over,
# so the first row of one, which carries all the burst's time, never shows alone ("11:17 left", then "0:59").
BURST_S = 1.0


@dataclass
class Tally:
    """Rows done of the planned total, and the time left estimated from the rows measured so far (rows reused
    from an earlier run take no time, so they count as done but not in the rate). Rows count by work: a row's
    share of the measured time is the time since the row before it, so a burst of rows shares one stretch."""

    start: float
    total: int | None = None  # None until the engine says how many rows it will report
    done: int = 0
    measured: int = 0
    measured_s: float = 0.0  # seconds spent on measured rows
    last: float = field(default=0.0)  # when the last row finished, or the plan began
    settled: tuple | None = None  # (measured, measured_s, done, last) as of the last burst that is over
    # (fraction, rows): the engine's word that this share of the work toward its next `rows` rows is done (reuse
    # trains a network for minutes before reporting its cells at once): an estimate before any row is in
    partial: tuple[float, int] | None = None

    def __post_init__(self):
        self.last = self.last or self.start

    def plan(self, total: int, now: float) -> None:
        self.total, self.last = total, now

    def row_done(self, now: float, reused: bool = False, count: int = 1) -> None:
        """`count` rows finished together (an engine that reports several at once, as reuse does a network's
        cells): the time since the last one is theirs, shared."""
        if self.done and now - self.last >= BURST_S:  # the burst before this row is over
            self.settled = (self.measured, self.measured_s, self.done, self.last)
        if not reused:
            self.measured += count
            self.measured_s += now - self.last
        self.done += count
        self.last = now
        self.partial = None

    def part_done(self, fraction: float, rows: int) -> None:
        self.partial = (min(max(fraction, 0.0), 1.0), rows)

    def settle(self) -> None:
        """The burst is over now: a message from the engine after a row means the next row has begun."""
        self.settled = (self.measured, self.measured_s, self.done, self.last)

    def eta(self, now: float) -> float | None:
        """Seconds left: the mean measured row's time for each row to go, less the time since the last row (but
        never less than the rows after it need), from the rows up to the last burst that is over. None until a
        row has been measured and its burst is over."""
        if not self.total:
            return None
        if self.done >= self.total:
            return 0.0
        state = (self.measured, self.measured_s, self.done, self.last) if now - self.last >= BURST_S \
            else self.settled
        if state is None or not state[0]:
            return self._from_partial(now)
        measured, measured_s, done, last = state
        left = self.total - done
        per_row, in_row = measured_s / measured, now - last
        if left == 1 and in_row > per_row:  # the last row has outrun the mean: no honest estimate
            return None
        return max(per_row * left - in_row, per_row * (left - 1), 0.0)

    def _from_partial(self, now: float) -> float | None:
        """Before any row is measured: the time the engine's reported share of the next rows took, scaled to
        every row left (None until it reports a share)."""
        if self.partial is None or not self.partial[0] or not self.partial[1]:
            return None
        fraction, rows = self.partial
        spent = now - self.last
        per_row = spent / (fraction * rows)
        return max(per_row * (self.total - self.done) - spent, 0.0)

    def how_far(self) -> str:
        return f"{self.done}/{self.total} rows" if self.total else f"{self.done} rows"


def clock(seconds: float | None) -> str:
    """65.2 -> '1:05'; 3725 -> '1:02:05'; None -> '?'."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class _EtaColumn(ProgressColumn):
    def __init__(self, display: LiveProgress):
        super().__init__()
        self.display = display

    def render(self, task) -> Text:
        eta = self.display.tally.eta(self.display.now())
        return Text("left " + ("-:--" if eta is None else clock(eta)), style="progress.remaining")


class _DetailProgress(Progress):
    """rich's Progress with one more line under the bar: the current row's message."""

    detail = ""

    def get_renderables(self):
        yield Group(self.make_tasks_table(self.tasks), Text(self.detail, overflow="ellipsis", no_wrap=True))


class LiveProgress:
    """The terminal display: `stage  ━━━━━━  2/3 rows  0:00:12  left 0:06`, the current row's line under it."""

    def __init__(self, console: Console, now: Callable[[], float] = time.monotonic):
        self.console, self.now = console, now
        self.tally = Tally(now())
        self._progress = _DetailProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                         TextColumn("rows"), TimeElapsedColumn(), _EtaColumn(self),
                                         console=console, transient=True)
        self._task = self._progress.add_task("starting", total=None)
        self._progress.start()

    def stage(self, name: str) -> None:
        self.tally = Tally(self.now())
        self._progress.reset(self._task, total=None, description=name)

    def plan(self, total: int) -> None:
        self.tally.plan(total, self.now())
        self._progress.update(self._task, total=total, completed=self.tally.done)

    def message(self, text: str) -> None:
        self.tally.settle()
        self._progress.detail = text
        self._progress.refresh()

    def row_done(self, reused: bool = False, count: int = 1) -> None:
        self.tally.row_done(self.now(), reused, count)
        self._progress.update(self._task, completed=self.tally.done)

    def part_done(self, fraction: float, rows: int) -> None:
        self.tally.part_done(fraction, rows)

    def log(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def stop(self) -> None:
        self._progress.stop()


class PlainProgress:
    """Off a terminal: a line per finished row, and a line at least every `every_s` seconds while a row runs
    (a thread wakes to write it, since an engine may report nothing for a long while), each with what runs,
    how far the run is and the time so far."""

    def __init__(self, stream: TextIO, every_s: float = PLAIN_EVERY_S, now: Callable[[], float] = time.monotonic):
        self.stream, self.every_s, self.now = stream, every_s, now
        self.name = "deepgen"
        self.tally = Tally(now())
        self.run_start = self.tally.start
        self.current = "starting"
        self.row_label: str | None = None  # the first message since the last row: what the row is
        self._last_line = self.tally.start
        self._pending: str | None = None  # the last row's line, written once its burst is over (tick)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="deepgen-progress", daemon=True)
        self._thread.start()

    def _write(self, text: str) -> None:
        with self._lock:
            self._last_line = self.now()
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: progress is not worth failing the run for
                pass

    def _so_far(self) -> str:
        return f"{clock(self.now() - self.run_start)} so far"

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.every_s / 4)):
            self.tick()

    def tick(self) -> None:
        """What the beat thread does each wake: a finished burst's row line, or a line after every_s quiet."""
        if self._pending is not None and self.now() - self.tally.last >= BURST_S:
            self._flush()
        elif self.now() - self._last_line >= self.every_s:
            eta = self.tally.eta(self.now())
            left = "" if not eta else f", about {clock(eta)} left"
            self._write(f"{self.name}: running {self.current} ({self.tally.how_far()} done); {self._so_far()}{left}")

    def _flush(self) -> None:
        """The row line held since the last row: written once no row has followed for BURST_S (rows of a burst
        share one line), so its estimate is over the whole burst."""
        what, self._pending = self._pending, None
        if what is None:
            return
        eta = self.tally.eta(self.now())
        left = "" if not eta else f", about {clock(eta)} left"
        self._write(f"{self.name}: {self.tally.how_far()}, last {what}; {self._so_far()}{left}")

    def stage(self, name: str) -> None:
        self._flush()
        self.name, self.current, self.row_label = name, "starting", None
        self.tally = Tally(self.now())

    def plan(self, total: int) -> None:
        self.tally.plan(total, self.now())
        self.row_label = None  # messages before the plan (loading data) name no row

    def message(self, text: str) -> None:
        self.tally.settle()
        self._flush()  # the engine has moved on to the next row: the last one's line, with its estimate
        self.current = text
        if self.row_label is None:
            self.row_label = text

    def row_done(self, reused: bool = False, count: int = 1) -> None:
        self.tally.row_done(self.now(), reused, count)
        self._pending = "reused from the earlier run" if reused else f"done: {self.row_label or self.current}"
        self.row_label = None

    def part_done(self, fraction: float, rows: int) -> None:
        self.tally.part_done(fraction, rows)

    def log(self, text: str) -> None:
        self._flush()
        self._write(text)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._flush()


def display_for(console: Console) -> LiveProgress | PlainProgress:
    """The live display on a terminal, plain lines elsewhere."""
    if console.is_terminal:
        return LiveProgress(console)
    return PlainProgress(console.file)
