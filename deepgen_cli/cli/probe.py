"""`deepgen probe`: linear classifier probes at every layer (Alain & Bengio 2016), within a memory budget."""

from __future__ import annotations

import typer

from deepgen_cli.cli.experiment import experiment
from deepgen_cli.engine.probe import ProbeConfig, run
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("snapshot", "snapshot", text, numeric=False),
    Column("depth", "depth", text),
    Column("layer", "layer", text, numeric=False),
    Column("seed", "seed", text),
    Column("type", "type", text, numeric=False),
    Column("shape", "shape", text),
    Column("features", "features", count),
    Column("reduction", "reduce", text, numeric=False),
    Column("probe_features", "probe in", count),
    Column("probe_params", "probe params", count),
    Column("full_probe_mib", "full MiB", fixed(2)),
    Column("probe_mib", "used MiB", fixed(2)),
    Column("train_error", "train err", percent),
    Column("test_error", "test err", percent),  # the probe at its optimum: what the verdicts read
    Column("probe_converged", "converged", lambda v: "" if v is None else ("yes" if v else "no"), numeric=False),
    Column("sgd_test_error", "SGD test err", percent),
    Column("control_train_accuracy", "control acc", percent),
    Column("selectivity", "selectivity", percent),
    Column("cka_prev", "CKA prev", fixed(3)),
]


def register(app: typer.Typer) -> None:
    experiment(app, "probe", ProbeConfig, run, lambda config: (COLUMNS, "Linear probes by layer"),
               plot=("probe", "probe_plot"), help="Linear probes on every layer: does linear separability rise with depth?")
