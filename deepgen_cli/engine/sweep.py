"""The loop every sweep shares: one row per planned setting, reused from an earlier run with the same config
(--resume) where one has the setting's key, and a run that diverged recorded as a failed row so the sweep
goes on (the command then exits 1)."""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from deepgen_cli.engine.train import Diverged


def row_key(row_type, values) -> dict:
    """The --resume key of a row of `row_type`: its KEY field names (declared on the row, read alike by the
    report's merging) paired with `values`, given in that order."""
    values = tuple(values)
    if len(values) != len(row_type.KEY):
        raise ValueError(f"{row_type.__name__} is keyed by {', '.join(row_type.KEY)}; got {len(values)} values")
    return dict(zip(row_type.KEY, values))


def row_from(row_type, saved: dict):
    """A row dataclass rebuilt from its JSON form; keys the class lacks are dropped."""
    names = [f.name for f in dataclasses.fields(row_type)]  # KEY, a ClassVar, is not a field
    return row_type(**{k: saved[k] for k in names if k in saved})


def plan_rows(session, total: int) -> None:
    """Tell the session how many rows the run will report (its progress shows rows done of total, and the time
    left); sessions without a progress display (engine tests' stand-ins) need no `plan`."""
    planned = getattr(session, "plan", None)
    if planned is not None:
        planned(total)


def part_done(session, fraction: float, rows: int) -> None:
    """Tell the session that `fraction` of the work toward its next `rows` rows is done (an engine that reports
    many rows after minutes of training: its progress estimates the time left before the first is in)."""
    told = getattr(session, "part_done", None)
    if told is not None:
        told(fraction, rows)


def measure_rows(session, plan: Iterable, *, row_type, key: Callable[[object], tuple],
                 measure: Callable[[object, str], object], label: Callable[[object], str],
                 complete: Callable[[object, list], object] | None = None) -> list:
    """Rows of `plan`, each reported to `session` as it completes.

    key(item): the values of the row's KEY fields, in order (what --resume matches); measure(item, label): a new row;
    label(item): how progress and errors name it; complete(row, rows so far): fills fields that depend on
    earlier rows (ratios to a baseline), for new and reused rows alike.
    """
    plan = list(plan)
    plan_rows(session, len(plan))
    rows: list = []
    for i, item in enumerate(plan, 1):
        item_key = row_key(row_type, key(item))
        saved = session.resumed(**item_key)
        if saved is not None:
            row = row_from(row_type, saved)
        else:
            name = label(item)
            session.progress(f"[{i}/{len(plan)}] {name}")
            try:
                row = measure(item, f"[{i}/{len(plan)}] {name}")
            except Diverged as err:
                session.row({**item_key, "error": f"{name}: {err}"})
                continue
        if complete is not None:
            row = complete(row, rows)
        rows.append(row)
        session.row(row)
    return rows
