"""`deepgen downsample`: early vs late strided layers in otherwise equal networks (Iandola et al. 2016, strategy 3)."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, percent, text

COLUMNS = [
    Column("placement", "downsampling", text, numeric=False),
    Column("model", "model", text, numeric=False),
    Column("seed", "seed", text),
    Column("mult_adds", "Mult-Adds", count),
    Column("params", "params", count),
    Column("train_accuracy", "train acc", percent),
    Column("test_accuracy", "test acc", percent),
]

# `reproduce --quick` trains 2 epochs, not 5.
SPEC = ExperimentSpec(
    name="downsample", help="Train two networks equal but for where they downsample (early or late strided layers) "
                            "and compare their accuracy and Mult-Adds.",
    config="deepgen_cli.engine.downsample:DownsampleConfig", row="deepgen_cli.engine.downsample:DownsampleRow",
    run="deepgen_cli.engine.downsample:run", columns=tuple(COLUMNS), title="Early vs late downsampling",
    sweep=("repeats",), papers="Iandola et al. 2016", quick=dict(epochs=2),
    smoke=("--epochs", "1", "--subset", "64", "--repeats", "2"))
