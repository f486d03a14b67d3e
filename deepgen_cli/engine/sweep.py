"""The loop every sweep shares: one row per planned setting, reused from an earlier run with the same config
(--resume) where one has the setting's key, and a run that diverged recorded as a failed row so the sweep
goes on (the command then exits 1)."""

from __future__ import annotations

from typing import Callable, Iterable

from deepgen_cli.engine.train import Diverged


def row_from(row_type, saved: dict):
    """A row dataclass rebuilt from its JSON form; keys the class lacks are dropped."""
    return row_type(**{k: saved[k] for k in row_type.__dataclass_fields__ if k in saved})


def plan_rows(session, total: int) -> None:
    """Tell the session how many rows the run will report (its progress shows rows done of total, and the time
    left); sessions without a progress display (engine tests' stand-ins) need no `plan`."""
    planned = getattr(session, "plan", None)
    if planned is not None:
        planned(total)


def measure_rows(session, plan: Iterable, *, row_type, key: Callable[[object], dict],
                 measure: Callable[[object, str], object], label: Callable[[object], str],
                 complete: Callable[[object, list], object] | None = None) -> list:
    """Rows of `plan`, each reported to `session` as it completes.

    key(item): the row fields that identify it (what --resume matches); measure(item, label): a new row;
    label(item): how progress and errors name it; complete(row, rows so far): fills fields that depend on
    earlier rows (ratios to a baseline), for new and reused rows alike.
    """
    plan = list(plan)
    plan_rows(session, len(plan))
    rows: list = []
    for i, item in enumerate(plan, 1):
        saved = session.resumed(**key(item))
        if saved is not None:
            row = row_from(row_type, saved)
        else:
            name = label(item)
            session.progress(f"[{i}/{len(plan)}] {name}")
            try:
                row = measure(item, f"[{i}/{len(plan)}] {name}")
            except Diverged as err:
                session.row({**key(item), "error": f"{name}: {err}"})
                continue
        if complete is not None:
            row = complete(row, rows)
        rows.append(row)
        session.row(row)
    return rows
