"""Runs an engine for a subcommand: progress on stderr, the results file, and stdout rendering."""

from __future__ import annotations

import dataclasses
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from rich.console import Console

from deepgen_cli.engine.env import describe, resolve_device
from deepgen_cli.options import Format
from deepgen_cli.render import Column, print_table, to_markdown
from deepgen_cli.results import Report, ResultsFile, to_csv, to_json

stderr = Console(stderr=True)


@dataclass(frozen=True)
class Common:
    """The shared options, as given."""

    format: Format
    output: str | None
    device: str
    seed: int
    quiet: bool


class Session:
    """What an engine reports into: rows (saved at once) and progress messages (stderr only)."""

    def __init__(self, report: Report, results: ResultsFile, quiet: bool):
        self.report, self.results, self.quiet = report, results, quiet
        self._status = None
        if not quiet:
            self._status = stderr.status("starting", spinner="dots")
            self._status.start()

    def row(self, row) -> None:
        self.report.add_row(row)
        self.results.write(self.report)

    def progress(self, message: str) -> None:
        if self._status is not None:
            self._status.update(message)

    def log(self, message: str) -> None:
        if not self.quiet:
            stderr.print(message, highlight=False)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (a scheduler's stop) ends the run like Ctrl-C: rows so far are saved, exit 130."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. some test runners): leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(command: str, config, common: Common, engine: Callable, columns: list[Column], title: str,
        after: Callable[[Report], None] | None = None) -> Report:
    """Check the options, run `engine(config, device, session)`, and render the report to stdout.

    The engine returns an Outcome. `after` runs once the report is complete (plots).
    """
    results = ResultsFile(common.output)
    device = resolve_device(common.device)
    report = Report(command, dataclasses.asdict(config), describe(device), seed=common.seed)
    session = Session(report, results, common.quiet)
    try:
        with _sigterm_as_interrupt():
            report.finish(engine(config, device, session))
    except KeyboardInterrupt:
        report.status = "interrupted"
        raise
    except BaseException:
        report.status = "failed"
        raise
    finally:
        session.close()
        results.write(report)
    if after is not None:
        after(report)
    emit(report, common.format, columns, title)
    return report


def emit(report: Report, fmt: Format, columns: list[Column], title: str) -> None:
    try:
        _emit(report, fmt, columns, title)
    except BrokenPipeError:
        # The reader closed stdout early (`| head -1`): point stdout at /dev/null so the interpreter's
        # final flush does not fail again, and finish quietly.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _emit(report: Report, fmt: Format, columns: list[Column], title: str) -> None:
    if fmt == Format.json:
        sys.stdout.write(to_json(report))
    elif fmt == Format.csv:
        sys.stdout.write(to_csv(report))
    elif fmt == Format.markdown:
        sys.stdout.write(to_markdown(report, columns))
    else:
        print_table(report, columns, title)
    sys.stdout.flush()
