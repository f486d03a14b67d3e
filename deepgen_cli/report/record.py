"""The one result record (envelope, rows, findings as the record's own dicts), its JSON text and its atomic file."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import math
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from deepgen_cli import __version__
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.outcome import BASES, Outcome

SCHEMA = "deepgen.result/1"
# The largest record deepgen reads back (--resume; later report, compare, --config). Records hold rows of
# numbers: an efficiency run of two models writes 4.9 KB, a memorize run of three noise levels 8.8 KB. 256 MiB
# is far above any sweep, and bounds what json.loads builds from a file found elsewhere (Python objects take
# several times the text's size).
MAX_RECORD_BYTES = 256 * 2**20


@dataclass
class Report:
    command: str
    config: dict
    environment: dict
    seed: int | None = None
    rows: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)  # each as the record holds it (Finding.to_dict)
    notes: list[str] = field(default_factory=list)  # caveats about this run, shown under the table
    analysis: dict = field(default_factory=dict)
    derived: list[str] | None = None  # config fields the run filled in from other options (None: not known)
    status: str = "running"  # running | complete | interrupted | failed
    lead: bool = True  # under torchrun, whether this process is rank 0 (the one that prints); not in the JSON
    deepgen_version: str = __version__
    time_utc: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def finish(self, outcome: Outcome) -> None:
        self.findings = [f.to_dict() for f in outcome.findings]
        self.notes, self.analysis = outcome.notes, outcome.analysis
        self.status = "complete"

    def add_row(self, row) -> None:
        self.rows.append(row if isinstance(row, dict) else dataclasses.asdict(row))

    def to_dict(self) -> dict:
        out = {
            "schema": SCHEMA,
            "command": self.command,
            "deepgen_version": self.deepgen_version,
            "time_utc": self.time_utc,
            "status": self.status,
            "seed": self.seed,
            "config": self.config,
            "derived": self.derived,
            "environment": self.environment,
            "rows": self.rows,
            "findings": [dict(f) for f in self.findings],
            "notes": self.notes,
            "analysis": self.analysis,
        }
        if self.derived is None:  # a record written before deepgen recorded it
            del out["derived"]
        return out


def _clean(value):
    # JSON has no NaN or infinity: write them as null so every reader can parse the file.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(data) -> str:
    """JSON text of a record (or anything else deepgen prints as JSON): indented, NaN-free."""
    return json.dumps(_clean(data), indent=2, default=str) + "\n"


def to_json(report: Report) -> str:
    return dumps(report.to_dict())


class RecordWriteError(RunError):
    """The record could not be written (disk full, its folder removed): the run stops, exit 1."""


# Paths under these are devices, terminals and other processes' files: never renamed over, nothing made beside.
_SPECIAL_ROOTS = ("/dev/", "/proc/")


def _is_special(path: Path) -> bool:
    """True when `path` is, or leads to, something other than a regular file (a FIFO, a device, /dev/stdout)."""
    for p in (os.path.abspath(path), os.path.realpath(path)):
        if p.startswith(_SPECIAL_ROOTS):
            return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # nothing there yet: a new regular file
        return False


def _same_file(path: Path, stream) -> bool:
    try:
        a, b = os.stat(path), os.fstat(stream.fileno())
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class ResultsFile:
    """The `--output` JSON file. A regular file (or a new one) is rewritten atomically after every row: a temp
    file beside it, then a rename (through a symlink, beside its target). Anything else (a FIFO, a character
    device, /dev/stdout) gets the record written through once, at the end: a rename would replace the node
    itself, and no temp file is made beside a device. `lock()` keeps a second run off the same file."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path else None
        self.through = False
        self._lock = None
        if self.path is not None:
            self._check_writable()

    def _check_writable(self) -> None:
        assert self.path is not None
        if self.path.is_dir():
            raise UsageError(f"--output: '{self.path}' is a directory; give a file path such as results.json")
        if _is_special(self.path):
            self.through = True
            if not self.path.exists():
                raise UsageError(f"--output: '{self.path}' does not exist; give a regular file path such as results.json")
            if not os.access(self.path, os.W_OK):
                raise UsageError(f"--output: cannot write to '{self.path}'; choose a writable path")
            return
        if self.path.is_symlink():
            try:  # strict: a loop (lA -> lB -> lA) or a link to nothing raises, where a plain realpath
                # returns the path itself and the rename would replace the link with a regular file
                self.path = Path(os.path.realpath(self.path, strict=True))
            except OSError as err:
                why = "a symlink loop" if err.errno == errno.ELOOP else "a symlink to nothing"
                raise UsageError(f"--output: '{self.path}' is {why} ({os.readlink(self.path)}); --output only "
                                 f"replaces a regular file: give a file path or fix the link") from None
            if not stat.S_ISREG(os.stat(self.path).st_mode):
                raise UsageError(f"--output: '{self.path}' is not a regular file; give a file path")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        try:
            fd, probe = tempfile.mkstemp(dir=parent, prefix=".deepgen-", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise UsageError(f"--output: cannot write in '{parent}' ({err.strerror}); choose a writable path")

    def lock(self) -> None:
        """Hold `.NAME.lock` beside the output for the run; a second run with the same --output exits 2."""
        if self.path is not None and not self.through:
            from deepgen_cli.report.lock import OutputLock

            self._lock = OutputLock(self.path)
            self._lock.acquire()

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def previous_rows(self, report: Report, sweep: tuple[str, ...] = ()) -> list[dict]:
        """Rows of the existing file, which must record the same command, config and seed; none if it has none.

        Config keys in `sweep` (the list a run iterates over, e.g. models) may differ: each row carries
        its own value of them, and the engine asks for rows by that value. A record of another config is
        refused (a usage error naming the fields that differ): resuming into it would replace its rows with
        those of another experiment, and a record is the user's measurements.
        """
        if self.path is None:
            raise UsageError("--resume: needs --output FILE, the results file of the run to resume")
        if self.through:
            raise UsageError(f"--resume: '{self.path}' is not a regular file, so it holds no earlier record; "
                             f"give --output a file path")
        if not self.path.exists():
            return []
        old = read_record(self.path, "--resume", advice="remove it or drop --resume")
        rows = list(old.get("rows") or [])
        differ = differences(old, report, sweep)
        if differ and rows:
            raise UsageError(
                f"--resume: '{self.path}' holds {len(rows)} rows measured with another "
                f"{'command' if 'command' in differ else 'config'} ({'; '.join(differ[:4])}"
                f"{'; ...' if len(differ) > 4 else ''}); nothing was changed. To continue it, give its settings "
                f"(--config {self.path} --resume -o {self.path}); to start afresh, choose another --output "
                f"or remove the file")
        return rows

    def write(self, report: Report, final: bool = False) -> None:
        """Save the record; `final` at the run's end (the only write to a FIFO or device). RecordWriteError
        (exit 1) when it cannot be written."""
        if self.path is None or (self.through and not final):
            return
        try:
            self._write_through(report) if self.through else self._replace(report)
        except OSError as err:
            raise RecordWriteError(f"--output: cannot write the record to '{self.path}' "
                                   f"({err.strerror or type(err).__name__})") from None

    def _write_through(self, report: Report) -> None:
        text = to_json(report)
        for stream in (sys.stdout, sys.stderr):  # -o /dev/stdout: in order with what else goes there
            if _same_file(self.path, stream):
                stream.write(text)
                stream.flush()
                return
        with open(self.path, "w") as f:
            f.write(text)

    def _mode(self) -> int:
        """The permission bits the record gets: an existing record's own (a group-readable results folder stays
        readable), else what the user's umask gives a new file (mkstemp's 0600 would hide it from the group)."""
        try:
            return stat.S_IMODE(os.stat(self.path).st_mode)
        except OSError:
            mask = os.umask(0)
            os.umask(mask)
            return 0o666 & ~mask

    def _replace(self, report: Report) -> None:
        mode = self._mode()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent if str(self.path.parent) else ".",
                                   prefix=".deepgen-", suffix=".tmp")
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "w") as f:
                f.write(to_json(report))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def differences(old: dict, report: Report, sweep: tuple[str, ...] = ()) -> list[str]:
    """How a record's command, seed and config (less the `sweep` keys) differ from a run's: 'epochs 300 there,
    2 here', one entry a field."""
    if old.get("command") != report.command:
        return [f"command {old.get('command')} there, {report.command} here"]
    out = [] if old.get("seed") == report.seed else [f"seed {old.get('seed')} there, {report.seed} here"]
    there = _clean(old.get("config") or {})
    here = json.loads(json.dumps(_clean(report.config), default=str))
    for k in sorted(set(there) | set(here)):
        if k not in sweep and there.get(k) != here.get(k):
            out.append(f"{k} {_short(there.get(k, 'unset'))} there, {_short(here.get(k, 'unset'))} here")
    return out


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_record(path: str | os.PathLike, flag: str,
                advice: str = "give a JSON file written by deepgen's --output") -> dict:
    """The JSON record at `path`, checked before any of it is used: at most MAX_RECORD_BYTES, and the envelope
    deepgen writes (schema deepgen.result/1, a command name, a config object, rows that are objects,
    findings with a claim, a boolean verdict and a known basis).

    A UsageError naming `flag` otherwise, ending with `advice`. Reading runs nothing: it is JSON, no pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{flag}: no file at '{path}'; {advice}")

    def bad(why: str) -> UsageError:
        return UsageError(f"{flag}: '{path}' is not a deepgen record: {why}; {advice}")

    try:
        with open(path, "rb") as f:
            text = f.read(MAX_RECORD_BYTES + 1)  # never more than the cap, even if the file grows meanwhile
    except OSError as err:
        raise UsageError(f"{flag}: cannot read '{path}' ({err.strerror}); {advice}") from None
    if len(text) > MAX_RECORD_BYTES:
        raise bad(f"it holds more than {MAX_RECORD_BYTES:,} bytes ({MAX_RECORD_BYTES / 2**20:g} MiB), far more "
                  f"than any record deepgen writes")
    try:
        record = json.loads(text.decode("utf-8"), parse_int=_parse_int)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise bad(f"not JSON ({type(err).__name__})") from None
    if not isinstance(record, dict):
        raise bad(f"a JSON {_kind(record)}, not an object")
    if record.get("schema") != SCHEMA:
        raise bad(f"its schema is {json.dumps(record.get('schema'))[:60]}, this deepgen reads {SCHEMA}")
    if not isinstance(record.get("command"), str):
        raise bad("'command' is not a string")
    if not isinstance(record.get("config"), dict):
        raise bad("'config' is not an object")
    rows = record.get("rows")
    if not isinstance(rows, list):
        raise bad("'rows' is not a list")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise bad(f"row {i} is a JSON {_kind(row)}, not an object")
    # findings are rendered as they stand (claim, verdict, basis): one that lacks them would fail mid-table
    findings = record.get("findings", [])
    if not isinstance(findings, list):
        raise bad("'findings' is not a list")
    for i, f in enumerate(findings):
        if not isinstance(f, dict):
            raise bad(f"finding {i} is a JSON {_kind(f)}, not an object")
        if not isinstance(f.get("claim"), str) or not isinstance(f.get("reproduced", 0), (bool, type(None))):
            raise bad(f"finding {i} lacks a string 'claim' and a 'reproduced' of true, false or null")
        if "basis" in f and f["basis"] not in BASES:
            raise bad(f"finding {i} has basis {json.dumps(f['basis'])[:40]}, not one of {', '.join(BASES)}")
        for name, kinds, what in _FINDING_FIELDS:
            if f.get(name) is not None and not isinstance(f[name], kinds):
                raise bad(f"finding {i}'s '{name}' is a JSON {_kind(f[name])}, not {what}")
    # every other field a reader shows (the table's notes, compare's environment line, the plots' analysis):
    # checked here, so that no reader meets a value of another type halfway through its output
    for name, kinds, what in _ENVELOPE_FIELDS:
        value = record.get(name)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds):
            raise bad(f"'{name}' is a JSON {_kind(value)}, not {what}")
    for name in ("notes", "derived"):
        for j, item in enumerate(record.get(name) or []):
            if not isinstance(item, str):
                raise bad(f"'{name}' item {j} is a JSON {_kind(item)}, not a string")
    return record


# (field, the types it may hold besides null, their name in a message): what deepgen writes there
_ENVELOPE_FIELDS = (("seed", (int,), "an integer"), ("status", (str,), "a string"),
                    ("deepgen_version", (str,), "a string"), ("time_utc", (str,), "a string"),
                    ("environment", (dict,), "an object"), ("analysis", (dict,), "an object"),
                    ("notes", (list,), "a list of strings"), ("derived", (list,), "a list of strings"))
_FINDING_FIELDS = (("measured", (str,), "a string"), ("reason", (str,), "a string"),
                   ("fragile", (bool,), "true or false"))

# Python refuses to turn more than 4300 digits into an int (a guard against quadratic-time conversion); such a
# number in a record is read as the float it stands for (inf past 1e308), as deepgen's numbers are, not refused.
_INT_DIGITS = 4300


def _parse_int(digits: str):
    return int(digits) if len(digits) <= _INT_DIGITS else float(digits)


def _kind(value) -> str:
    """The JSON name of a parsed value's type."""
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)
