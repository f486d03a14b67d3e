"""`deepgen probe`: linear classifier probes at every layer (Alain & Bengio 2016), within a memory budget."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
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


# `reproduce --quick` trains 2 epochs, not 4.
SPEC = ExperimentSpec(
    name="probe", help="Linear probes on every layer: does linear separability rise with depth?",
    config="deepgen_cli.engine.probe:ProbeConfig", row="deepgen_cli.engine.probe:ProbeRow",
    run="deepgen_cli.engine.probe:run", columns=tuple(COLUMNS), title="Linear probes by layer",
    plot=("probe", "probe_plot"), papers="Alain & Bengio 2016", quick=dict(epochs=2),
    smoke=("--epochs", "1", "--subset", "100", "--cka-examples", "16"))
