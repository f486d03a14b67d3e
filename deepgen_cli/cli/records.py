"""Saved records as their command renders them: loaded and checked (`load`, `merged`) and their plot as PNG bytes;
shared by `deepgen report`, `compare` and `reproduce`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from deepgen_cli.cli import spec
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.record import Report, read_record


def checked(path: str, flag: str = "RECORD") -> tuple[spec.ExperimentSpec, dict, object]:
    """The record at `path` (checked by read_record), its command's spec and its config as this version's class;
    every usage error names the file."""
    record = read_record(path, flag)
    try:
        kind = spec.get(record["command"], flag)
        config = kind.record_config(record["config"])
        columns, _ = kind.table(config)
        check_rows(kind, config, record["rows"])
    except UsageError as err:
        message = str(err).removeprefix(f"{flag}: ")
        raise UsageError(f"{flag}: '{path}': {message}") from None
    return kind, record, config


def check_rows(kind: spec.ExperimentSpec, config, rows: list[dict]) -> None:
    """Each row field the row type declares holds a value of its type (or null), as deepgen writes it: the
    table, compare's matching and the plots read them as such; null only where the type allows it (a float's null
    is a NaN, which JSON lacks). Fields the row type lacks are kept and shown nowhere; missing ones show blank."""
    import dataclasses

    row_cls = spec.load(kind.row_of(config) if kind.row_of is not None else kind.row)
    fields = [(f.name, str(f.type)) for f in dataclasses.fields(row_cls)]
    for i, row in enumerate(rows):
        for name, annotation in fields:
            value = row.get(name)
            # null stands for NaN in a float field (JSON has none); elsewhere only where the type allows it
            if value is None and name in row and "None" not in annotation and "float" not in annotation:
                raise UsageError(f"row {i} holds null as {name}, which a {row_cls.__name__} always has; give "
                                 f"records as deepgen wrote them")
            if value is not None and not fits(value, annotation):
                raise UsageError(f"row {i} holds {_text(value)} as {name}, not {annotation}; give records as "
                                 f"deepgen wrote them")


def load(paths: list[str]) -> tuple[spec.ExperimentSpec, list[tuple[str, dict]], object]:
    """The records at `paths` (checked by read_record), their command's spec and the first one's config."""
    checks = [checked(p) for p in paths]
    kind = checks[0][0]
    for p, (other, rec, _) in zip(paths[1:], checks[1:]):
        if other is not kind:
            raise UsageError(f"RECORD: '{p}' is a record of `deepgen {rec['command']}`, '{paths[0]}' of "
                             f"`deepgen {kind.name}`; merge records of one command")
    loaded = [(p, rec) for p, (_, rec, _) in zip(paths, checks)]
    configs = [c for _, _, c in checks]
    titles = {kind.table(c)[1] for c in configs}
    if len(titles) > 1:
        raise UsageError(f"RECORD: these records hold different tables ({', '.join(sorted(titles))}); "
                         f"render them one at a time")
    return kind, loaded, configs[0]


def merged(paths: list[str]) -> tuple[spec.ExperimentSpec, Report, list, str]:
    """The records at `paths` as one Report, with the columns and title their run used."""
    from deepgen_cli.report.saved import merge

    kind, loaded, config = load(paths)
    columns, title = kind.table(config)
    report = merge(loaded, kind.key(config), kind.sweep)
    check_cells(report, columns, paths)
    return kind, report, columns, title


def check_cells(report: Report, columns, paths=(), flag: str = "RECORD") -> None:
    """Every cell the table will show can be formatted: a hand-edited value ("high" as an accuracy) is named
    here, as a usage error, rather than failing halfway through rendering."""
    where = f"'{paths[0]}'" if len(paths) == 1 else f"the records ({', '.join(paths)})" if paths else "the record"
    for i, row in enumerate(report.rows):
        for c in columns:
            value = row.get(c.key)
            if value is None:
                continue
            try:
                c.fmt(value)
            except (TypeError, ValueError, OverflowError):
                raise UsageError(f"{flag}: {where}: row {i} holds {_text(value)} as {c.key}, which the "
                                 f"'{c.header}' column cannot show; give records as deepgen wrote them") from None


_TYPES = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
          "list": lambda v: isinstance(v, list), "dict": lambda v: isinstance(v, dict)}


def fits(value, annotation: str) -> bool:
    """Whether a JSON value (not null) can be a row field of this annotation ("float | None", "list" ...); a type
    this check does not know admits anything."""
    kinds = [k.strip() for k in annotation.split("|") if k.strip() != "None"]
    return any(_TYPES[k](value) if k in _TYPES else True for k in kinds)


def _text(value) -> str:
    try:
        return json.dumps(value)[:40]
    except ValueError:  # an integer of more digits than Python turns into text
        return "a number too long to show"


def warnings(report: Report, columns, fmt: str) -> list[str]:
    """What stderr says about a rendered record: rows that show no column of the table (a record of another
    version, or hand-edited), and, in CSV (which has no notes), rows of several records merged into one."""
    out = []
    keys = {c.key for c in columns}
    blank = [i for i, r in enumerate(report.rows) if not keys & {k for k, v in r.items() if v is not None}]
    if blank:
        out.append(f"{len(blank)} of {len(report.rows)} rows hold none of the table's columns "
                   f"({', '.join(c.key for c in columns[:4])}, ...) and show blank; first: row {blank[0]}")
    if fmt == "csv":
        out += [n if len(n) < 300 else n[:297] + "..." for n in report.notes
                if n.startswith("rows in more than one record")]
    return out


def config_notes(a: dict, b: dict, sweep: tuple[str, ...] = ()) -> list[str]:
    """A note when two records' configs (less the swept keys) or seeds differ: their numbers may differ for that
    reason alone."""
    from deepgen_cli.report.record import differences
    from deepgen_cli.report.saved import to_report

    differ = [d.replace(" there, ", " in A, ").replace(" here", " in B") for d in differences(a, to_report(b), sweep)]
    if not differ:
        return []
    return [f"the records' configs differ ({'; '.join(differ[:6])}{'; ...' if len(differ) > 6 else ''}): a change "
            f"below may come from the settings, not from the machine or version"]


def emit_whole(page, fmt: str, flag: str, path: str) -> None:
    """The page to stdout only once all of it has rendered: a record that passes the reader's checks and still
    cannot be shown is a usage error naming the file, with nothing printed before it."""
    import sys

    from deepgen_cli.report.export import emit, render
    from deepgen_cli.report.table import piped_width

    try:
        text = render(page, fmt, piped_width())  # as the pipe or file gets it: COLUMNS wide when it says so
    except UsageError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError) as err:
        raise UsageError(f"{flag}: '{path}' holds a value that cannot be shown ({type(err).__name__}: "
                         f"{str(err)[:80]}); give records as deepgen wrote them") from None
    if fmt == "table" and sys.stdout.isatty():
        emit(page, fmt)  # again at the terminal's width (rendered above at 240 columns, no colour)
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def draw(kind: spec.ExperimentSpec, report: Report, path: str, where: str) -> None:
    """The command's plot of records read from files, at `path`. The plots read the rows and the record's
    analysis (fits, series) as deepgen writes them; a record whose values pass the reader's checks and still
    cannot be drawn is a usage error naming the file(s), not an internal error."""
    from deepgen_cli.report.plots import plotter

    try:
        plotter(path, *kind.plot)(report)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError, ZeroDivisionError) as err:
        raise UsageError(f"RECORD: {where}: deepgen {kind.name}'s plot cannot be drawn from it: its rows or "
                         f"analysis are not as deepgen writes them ({type(err).__name__}: {str(err)[:60]})") from None


def plot_png(kind: spec.ExperimentSpec, report: Report, where: str = "the record") -> bytes | None:
    """The command's own plot of `report` as PNG bytes (drawn in a temporary folder), or None if it has none or
    there is nothing to draw."""
    if kind.plot is None or not any(not r.get("error") for r in report.rows):
        return None
    with tempfile.TemporaryDirectory(prefix="deepgen-plot-") as tmp:
        path = str(Path(tmp) / "plot.png")
        draw(kind, report, path, where)
        return Path(path).read_bytes()
