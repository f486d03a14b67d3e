"""`deepgen norm-depth`: does batch norm's small-microbatch loss compound with depth? mlp-bn at several depths,
batch norm and renorm at a small microbatch and at the whole minibatch."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("depth", "depth", text),
    Column("microbatch", "micro", text),
    Column("norm", "norm", text, numeric=False),
    Column("seed", "seed"),
    Column("test_accuracy", "test acc (eval)", percent),
    Column("train_accuracy", "train acc", percent),
    Column("steps", "steps", count),
    Column("train_time_s", "train s", fixed(1)),
]


# `reproduce --quick` trains 2 epochs on 400 examples, at depths 1 and 4, 2 seeds.
SPEC = ExperimentSpec(
    name="norm-depth", help="Train mlp-bn at several depths with batch norm and renorm at a small microbatch: "
                            "does batch norm's small-batch loss compound with depth?",
    config="deepgen_cli.engine.norm_depth:NormDepthConfig", row="deepgen_cli.engine.norm_depth:NormDepthRow",
    run="deepgen_cli.engine.norm_depth:run", columns=tuple(COLUMNS), title="Batch norm's small-batch loss by depth",
    sweep=("depths", "microbatch", "repeats"), papers="Ioffe 2017",
    quick=dict(depths=(1, 4), epochs=2, subset=400, repeats=2),
    smoke=("--depths", "1,2", "--microbatch", "2,8", "--batch-size", "8", "--epochs", "1", "--subset", "64",
           "--repeats", "2"))
