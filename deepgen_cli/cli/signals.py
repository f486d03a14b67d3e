"""Ctrl-C and SIGTERM, from the first line of start-up to the interpreter's exit: the first one stops the run as a
KeyboardInterrupt (exit 130, one line); any that follow are counted and ignored, so that a second or third Ctrl-C
20 ms later cannot cut short the final write of the record (left "running") or torch's exit clean-up (a
traceback). A record's writes are `deferred()`: a signal that arrives during one stops the run right after it."""

from __future__ import annotations

import shlex
import signal
import sys
from contextlib import contextmanager

ARGS: list[str] = []  # the command line as given (set by the app), for the --resume command the last line names
_state = {"stopping": False, "deferring": 0, "pending": False}


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; `line` is what the user is told (rows saved, where, how to continue)."""

    def __init__(self, line: str):
        super().__init__(line)
        self.line = line


def _handler(signum, frame) -> None:
    if _state["stopping"]:
        return  # already stopping: the clean-up finishes
    if _state["deferring"]:
        _state["pending"] = True  # raised when the write in progress is done
        return
    _state["stopping"] = True
    raise KeyboardInterrupt


def install() -> None:
    """Route SIGINT and SIGTERM to the handler (not off the main thread; a SIGINT the shell set to be ignored,
    as for a job started with `&` from a script, stays ignored)."""
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not the main thread (some test runners)
        pass


def reset() -> None:
    """A fresh start for an in-process invocation (the tests run many)."""
    _state.update(stopping=False, deferring=0, pending=False)


def stopping() -> bool:
    return _state["stopping"]


def ending() -> None:
    """The command is done: a signal from now on is ignored."""
    _state["stopping"] = True


@contextmanager
def deferred():
    """Hold a signal until the block is done (a record's write: it lands whole, or the run stops after it)."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        if not _state["deferring"] and _state["pending"] and not _state["stopping"]:
            _state.update(pending=False, stopping=True)
            raise KeyboardInterrupt


def continue_command() -> str:
    """The command line that continues this run: as given, with --resume added."""
    args = [a for a in ARGS]
    if "--resume" not in args:
        args.append("--resume")
    return "deepgen " + shlex.join(args)


def interrupted_line(rows: int, output, saved: bool) -> str:
    """'interrupted: 2 rows saved in s05.json; continue with: deepgen memorize ... --resume'."""
    if output is None:
        return (f"interrupted after {rows} rows, none saved (no --output); give -o FILE to keep a run's rows and "
                f"--resume to continue it")
    if not saved:
        return f"interrupted after {rows} rows; the record could not be written to '{output}'"
    return f"interrupted: {rows} rows saved in {output}; continue with: {continue_command()}"


def setup_args(args) -> None:
    ARGS[:] = list(sys.argv[1:] if args is None else args)
