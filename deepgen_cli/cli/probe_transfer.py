"""`deepgen probe-transfer`: are the first layers general and the last specific? A network trained on half the
classes, every layer probed on its own classes and on the other half."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, percent, text

COLUMNS = [
    Column("network", "trained on", text, numeric=False),
    Column("seed", "seed"),
    Column("depth", "depth"),
    Column("layer", "layer", text, numeric=False),
    Column("features", "features", count),
    Column("own_accuracy", "own classes", percent),
    Column("other_accuracy", "other classes", percent),
    Column("gap", "gap", percent),
    Column("converged", "converged", text, numeric=False),
    Column("network_accuracy", "network acc", percent),
]


# `reproduce --quick` trains 3 epochs on 600 examples, 2 seeds.
SPEC = ExperimentSpec(
    name="probe-transfer", help="Train on half the classes and probe every layer on the other half: are the first "
                                "layers general and the last specific?",
    config="deepgen_cli.engine.probe_transfer:TransferConfig", row="deepgen_cli.engine.probe_transfer:TransferRow",
    run="deepgen_cli.engine.probe_transfer:run", columns=tuple(COLUMNS),
    title="Probes on own and unseen classes (Yosinski et al. 2014)", sweep=("repeats",),
    papers="Alain & Bengio 2016; Yosinski et al. 2014", quick=dict(epochs=3, subset=600, repeats=2),
    smoke=("--epochs", "1", "--subset", "120", "--repeats", "2"))
