"""Runs an engine for a subcommand: progress on stderr, the results file, and stdout rendering."""

from __future__ import annotations

import dataclasses
from typing import Callable

from rich.console import Console

from deepgen_cli.engine import distributed
from deepgen_cli.engine.env import describe
from deepgen_cli.engine.modes import deterministic
from deepgen_cli.engine.errors import RunError
from deepgen_cli.cli import ranks, signals
from deepgen_cli.cli.options import SessionOptions
from deepgen_cli.cli.progress import display_for
from deepgen_cli.report.export import emit
from deepgen_cli.report.page import record_page
from deepgen_cli.report.record import RecordWriteError, Report, ResultsFile
from deepgen_cli.report.table import Column

stderr = Console(stderr=True)


class Session:
    """What an engine reports into: rows (saved at once), the planned row count and progress messages (stderr
    only, on `display`: a live bar on a terminal, plain lines elsewhere, none with --quiet)."""

    def __init__(self, report: Report, results: ResultsFile, quiet: bool, previous: list[dict] | None = None,
                 display=None):
        self.report, self.results, self.quiet = report, results, quiet
        self.previous = previous or []  # rows of an earlier run with the same config (--resume)
        self._own_display = display is None and not quiet
        self.display = display_for(stderr) if self._own_display else (None if quiet else display)
        if self._own_display:
            self.display.stage(f"deepgen {report.command}")
        self._reused = 0  # rows handed out by resumed() and not yet reported back
        self._key: tuple[str, ...] | None = None  # the rows' KEY fields, once a row of the row type is reported
        self._handed: set[int] = set()  # ids of the earlier rows resumed() handed out

    def _note_key(self, row) -> None:
        key = getattr(type(row), "KEY", None)
        if key is not None and self._key is None:
            self._key = tuple(key)

    def earlier_rows(self) -> list[dict]:
        """The earlier run's rows (--resume) that this run has not measured again, nor reused: kept in the
        record, so that a resumed run never writes a record with fewer rows than it found."""
        if not self.previous:
            return []
        if self._key is None:
            return [r for r in self.previous if id(r) not in self._handed]
        from deepgen_cli.report.saved import row_key

        now = {row_key(r, self._key) for r in self.report.rows}
        return [r for r in self.previous if id(r) not in self._handed and row_key(r, self._key) not in now]

    def keep_earlier(self) -> None:
        """The earlier rows this run did not touch, added to its report (at its end), with a note naming them."""
        kept = self.earlier_rows()
        if kept:
            self.report.rows += kept
            self.report.notes.append(f"--resume: {len(kept)} rows of the earlier record that this run did not "
                                     f"measure are kept as they were")
        self.previous = []

    def _save(self) -> None:
        kept = self.earlier_rows()
        with signals.deferred():  # a Ctrl-C during the write stops the run once the file is whole
            self.results.write(dataclasses.replace(self.report, rows=self.report.rows + kept) if kept
                               else self.report)

    def plan(self, total: int) -> None:
        """The number of rows the engine will report (for rows done of total, and the time left)."""
        if self.display is not None:
            self.display.plan(total)

    def row(self, row) -> None:
        self._note_key(row)
        self.report.add_row(row)
        reused = self._reused > 0
        self._reused = max(self._reused - 1, 0)
        if self.display is not None:
            self.display.row_done(reused)
            self._after_rows()
        self._save()

    def add_rows(self, rows, reused: bool = False) -> None:
        """Several rows that finished together (`reused`: all from the earlier run, each handed out by
        resumed()): one progress update and one write of the record."""
        for row in rows:
            self._note_key(row)
            self.report.add_row(row)
        if reused:
            self._reused = max(self._reused - len(rows), 0)
        if self.display is not None and rows:
            self.display.row_done(reused, len(rows))
            self._after_rows()
        self._save()

    def _after_rows(self) -> None:
        """Once the last planned row is in, the work left is the engine's claim checks: say so, not a full bar
        that seems stuck."""
        tally = getattr(self.display, "tally", None)
        if tally is not None and tally.total and tally.done >= tally.total:
            self.display.message("all rows measured: checking the claims")

    def resumed(self, **key) -> dict | None:
        """The earlier run's row whose fields equal `key` (and that did not fail), if --resume found one."""
        for row in self.previous:
            if not row.get("error") and all(row.get(k) == v for k, v in key.items()):
                self._reused += 1
                self._handed.add(id(row))
                return row
        return None

    def progress(self, message: str) -> None:
        if self.display is not None:
            self.display.message(message)

    def part_done(self, fraction: float, rows: int) -> None:
        """`fraction` of the work toward the next `rows` rows is done: the time left before they are in."""
        if self.display is not None:
            self.display.part_done(fraction, rows)

    def log(self, message: str) -> None:
        if self.display is not None:
            self.display.log(message)
        elif not self.quiet:
            stderr.print(message, highlight=False)

    def close(self) -> None:
        if self.display is not None and self._own_display:
            self.display.stop()
        self.display = None


def run(command: str, config, common: SessionOptions, engine: Callable, columns: list[Column], title: str,
        after: Callable[[Report], None] | None = None, sweep: tuple[str, ...] = (),
        derived: tuple[str, ...] = ()) -> Report:
    """Run `engine(config, device, session)` on a checked config and render the report to stdout.

    The engine returns an Outcome. `after` runs once the report is complete (plots). `sweep` names the
    config keys a --resume may differ in (see ResultsFile.previous_rows); `derived` the config fields the
    command filled in from other options (recorded, so that --config derives them again).

    Under torchrun every rank runs the engine (in step: the same rows, --resume included) and rank 0 alone
    prints, writes --output and plots.
    """
    report, unsaved = record(command, config, common, engine, sweep, derived=derived)
    if not report.lead:
        return report
    if after is not None and unsaved is None:
        if not common.quiet:
            stderr.print(f"deepgen {command}: drawing the plot", highlight=False)
        after(report)
    emit(record_page(report, columns, title), common.format.value)
    if unsaved is not None:  # the rows measured so far are on stdout; the record is not on disk
        raise RunError(f"{unsaved}; stopped after {len(report.rows)} rows, printed above")
    failed = [r for r in report.rows if r.get("error")]
    if failed:
        raise RunError(f"{len(failed)} of {len(report.rows)} rows failed; first: {failed[0]['error']}")
    return report


def record(command: str, config, common: SessionOptions, engine: Callable, sweep: tuple[str, ...] = (),
           display=None, derived: tuple[str, ...] = ()) -> tuple[Report, RecordWriteError | None]:
    """Run the engine into a Report, saved to --output after every row (see `run`); nothing to stdout.

    Returns the report and, when the record could not be written (the run then stops), that error. `display`
    is a progress display shared by several runs (`deepgen reproduce`); by default each run makes its own.
    """
    results = ResultsFile(common.output)
    import torch

    device = torch.device(config.device)  # resolved by the command: part of the config and the --resume key
    world = ranks.join(command, device)
    lead = world is None or world.lead
    environment = describe(device)
    # the arguments as the app parsed them: sys.argv's from a shell, and the right ones where deepgen runs
    # in-process (tests, a script calling the app), where sys.argv is the host program's
    environment["argv"] = list(signals.ARGS)
    if getattr(config, "threads", None):  # the engine sets --threads itself; record what the rows ran on
        environment["threads"] = config.threads
    environment.update(distributed.describe(world))
    report = Report(command, dataclasses.asdict(config), environment, seed=config.seed, derived=list(derived))
    if lead:
        results.lock()
    unsaved = None
    ok = False
    try:
        previous = results.previous_rows(report, sweep) if common.resume else None
        if not lead:
            results = ResultsFile(None)  # read (--resume) like rank 0, never written
        session = Session(report, results, common.quiet or not lead, previous, display)
        if previous:
            session.log(f"--resume: {len(previous)} rows of {common.output} were measured with this config")
        stopped = saved = False
        try:
            with deterministic(getattr(config, "deterministic", False)):
                report.finish(engine(config, device, session))
            ok = True
        except RecordWriteError as err:
            report.status, unsaved = "failed", err
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (cli/signals.py): the rows so far are saved below
            report.status, stopped = "interrupted", True
        except BaseException:
            report.status = "failed"
            raise
        finally:
            try:
                with signals.deferred():  # a signal now waits until the record is written whole
                    session.close()
                    session.keep_earlier()
                    try:
                        if unsaved is None:
                            results.write(report, final=True)
                            saved = True
                    except RecordWriteError as err:
                        if report.status in ("complete", "failed"):  # an interruption or a crash says more
                            unsaved = err
                    ranks.leave(world, ok)
            except KeyboardInterrupt:  # it came during the clean-up: the record on disk is whole
                stopped = True
        if stopped:
            raise signals.Interrupted(signals.interrupted_line(len(report.rows), common.output, saved))
    finally:
        if lead:
            results.unlock()
    report.lead = lead  # under torchrun only rank 0 prints and plots
    return report, unsaved
