"""`deepgen reuse`: do dense layers reuse early features? (Huang et al. 2017, Figure 5)"""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, fixed, text

COLUMNS = [
    Column("network", "network", text, numeric=False),
    Column("seed", "seed", text),
    Column("block", "block", text),
    Column("target", "target", text, numeric=False),
    Column("source", "source", text),
    Column("weight", "mean |w|", fixed(4)),
    Column("normalized_weight", "normalized", fixed(2)),
]


# `reproduce --quick` trains 3 epochs, not 7.
SPEC = ExperimentSpec(
    name="reuse", help="Train a small DenseNet and measure how much each layer weighs every earlier layer's features.",
    config="deepgen_cli.engine.reuse:ReuseConfig", row="deepgen_cli.engine.reuse:ReuseRow",
    run="deepgen_cli.engine.reuse:run", columns=tuple(COLUMNS), title="Feature reuse (Huang et al. 2017, Fig. 5)",
    plot=("reuse", "reuse_plot"), sweep=("repeats",), papers="Huang et al. 2017", torchrun=True, quick=dict(epochs=3),
    smoke=("--epochs", "1", "--subset", "64"))  # --resume keeps the trained cells; the untrained ones it measures again
