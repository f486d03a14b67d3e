"""Runs an engine for a subcommand: progress on stderr, the results file, and stdout rendering."""

from __future__ import annotations

import dataclasses
import signal
import sys
from contextlib import contextmanager
from typing import Callable

from rich.console import Console

from deepgen_cli.engine import distributed
from deepgen_cli.engine.env import describe
from deepgen_cli.engine.modes import deterministic
from deepgen_cli.engine.errors import RunError
from deepgen_cli.cli import ranks
from deepgen_cli.cli.options import Format, SessionOptions
from deepgen_cli.report.table import Column, print_table, to_markdown
from deepgen_cli.report.record import Report, ResultsFile, to_csv, to_json

stderr = Console(stderr=True)


class Session:
    """What an engine reports into: rows (saved at once) and progress messages (stderr only)."""

    def __init__(self, report: Report, results: ResultsFile, quiet: bool, previous: list[dict] | None = None):
        self.report, self.results, self.quiet = report, results, quiet
        self.previous = previous or []  # rows of an earlier run with the same config (--resume)
        self._status = None
        if not quiet:
            self._status = stderr.status("starting", spinner="dots")
            self._status.start()

    def row(self, row) -> None:
        self.report.add_row(row)
        self.results.write(self.report)

    def resumed(self, **key) -> dict | None:
        """The earlier run's row whose fields equal `key` (and that did not fail), if --resume found one."""
        for row in self.previous:
            if not row.get("error") and all(row.get(k) == v for k, v in key.items()):
                return row
        return None

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


def run(command: str, config, common: SessionOptions, engine: Callable, columns: list[Column], title: str,
        after: Callable[[Report], None] | None = None, sweep: tuple[str, ...] = ()) -> Report:
    """Run `engine(config, device, session)` on a checked config and render the report to stdout.

    The engine returns an Outcome. `after` runs once the report is complete (plots). `sweep` names the
    config keys a --resume may differ in (see ResultsFile.previous_rows).

    Under torchrun every rank runs the engine (in step: the same rows, --resume included) and rank 0 alone
    prints, writes --output and plots.
    """
    results = ResultsFile(common.output)
    import torch

    device = torch.device(config.device)  # resolved by the command: part of the config and the --resume key
    world = ranks.join(command, device)
    lead = world is None or world.lead
    environment = describe(device)
    if getattr(config, "threads", None):  # the engine sets --threads itself; record what the rows ran on
        environment["threads"] = config.threads
    environment.update(distributed.describe(world))
    report = Report(command, dataclasses.asdict(config), environment, seed=config.seed)
    previous = results.previous_rows(report, sweep) if common.resume else None
    if not lead:
        results = ResultsFile(None)  # read (--resume) like rank 0, never written
    session = Session(report, results, common.quiet or not lead, previous)
    if previous:
        session.log(f"--resume: {len(previous)} rows of {common.output} were measured with this config")
    ok = False
    try:
        with _sigterm_as_interrupt(), deterministic(getattr(config, "deterministic", False)):
            report.finish(engine(config, device, session))
        ok = True
    except KeyboardInterrupt:
        report.status = "interrupted"
        raise
    except BaseException:
        report.status = "failed"
        raise
    finally:
        session.close()
        results.write(report)
        ranks.leave(world, ok)
    if not lead:
        return report
    if after is not None:
        after(report)
    emit(report, common.format, columns, title)
    failed = [r for r in report.rows if r.get("error")]
    if failed:
        raise RunError(f"{len(failed)} of {len(report.rows)} rows failed; first: {failed[0]['error']}")
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
