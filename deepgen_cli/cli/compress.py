"""`deepgen compress`: SqueezeNet 510x smaller than AlexNet with Deep Compression, and what the compression costs
a small trained network (Iandola et al. 2016, Table 2; Han et al. 2016)."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("network", "network", text, numeric=False),
    Column("seed", "seed", text),
    Column("stage", "stage", text, numeric=False),
    Column("weights", "weights", count),
    Column("kept", "kept", count),
    Column("bytes", "bytes", text),  # exact: the claim is a byte count
    Column("ratio", "x smaller", fixed(1)),
    Column("test_accuracy", "test acc", percent),
]

# `reproduce --quick` trains 4 epochs and retrains 1.
SPEC = ExperimentSpec(
    name="compress", help="Deep Compression (pruning, k-means weight sharing, sparse storage) counted on AlexNet "
                          "and SqueezeNet, and its accuracy cost on a small trained network.",
    config="deepgen_cli.engine.compress:CompressConfig", row="deepgen_cli.engine.compress:CompressRow",
    run="deepgen_cli.engine.compress:run", columns=tuple(COLUMNS), title="Deep Compression (Iandola et al. 2016)",
    sweep=("repeats",), papers="Iandola et al. 2016", quick=dict(epochs=4, finetune_epochs=1),
    smoke=("--epochs", "1", "--finetune-epochs", "1", "--subset", "64", "--repeats", "2"))
