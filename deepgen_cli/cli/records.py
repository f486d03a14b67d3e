"""Saved records as their command renders them: loaded and checked (`load`, `merged`) and their plot as PNG bytes;
shared by `deepgen report`, `compare` and `reproduce`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from deepgen_cli.cli import spec
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report.record import Report, read_record


def load(paths: list[str]) -> tuple[spec.ExperimentSpec, list[tuple[str, dict]], object]:
    """The records at `paths` (checked by read_record), their command's spec and the first one's config."""
    loaded = [(p, read_record(p, "RECORD")) for p in paths]
    kind = spec.get(loaded[0][1]["command"], "RECORD")
    configs = [kind.record_config(rec["config"]) for _, rec in loaded]
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
    check_cells(report, columns)
    return kind, report, columns, title


def check_cells(report: Report, columns) -> None:
    """Every cell the table will show can be formatted: a hand-edited value ("high" as an accuracy) is named
    here, as a usage error, rather than failing halfway through rendering."""
    for i, row in enumerate(report.rows):
        for c in columns:
            value = row.get(c.key)
            if value is None:
                continue
            try:
                c.fmt(value)
            except (TypeError, ValueError):
                raise UsageError(f"RECORD: row {i} holds {json.dumps(value)[:40]} as {c.key}, which the "
                                 f"'{c.header}' column cannot show; give records as deepgen wrote them") from None


def plot_png(kind: spec.ExperimentSpec, report: Report) -> bytes | None:
    """The command's own plot of `report` as PNG bytes (drawn in a temporary folder), or None if it has none or
    there is nothing to draw."""
    if kind.plot is None or not any(not r.get("error") for r in report.rows):
        return None
    from deepgen_cli.report.plots import plotter

    with tempfile.TemporaryDirectory(prefix="deepgen-plot-") as tmp:
        path = str(Path(tmp) / "plot.png")
        plotter(path, *kind.plot)(report)
        return Path(path).read_bytes()
