"""`deepgen width-reg`: do small models need less regularization? A narrow and a wide member of one family, each
trained with and without weight decay and augmentation."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("width", "width", text),
    Column("regularized", "regularized", text, numeric=False),
    Column("seed", "seed"),
    Column("params", "params", count),
    Column("train_accuracy", "train acc", percent),
    Column("test_accuracy", "test acc", percent),
    Column("gap", "gap", percent),
    Column("train_time_s", "train s", fixed(1)),
]


# `reproduce --quick` trains 8 epochs, widths 4 and 32, 2 seeds.
SPEC = ExperimentSpec(
    name="width-reg", help="Train a narrow and a wide network with and without weight decay and augmentation: do "
                           "small models overfit less and need less regularization?",
    config="deepgen_cli.engine.width_reg:WidthRegConfig", row="deepgen_cli.engine.width_reg:WidthRegRow",
    run="deepgen_cli.engine.width_reg:run", columns=tuple(COLUMNS), title="Regularization by width",
    sweep=("repeats",), papers="Howard et al. 2017", quick=dict(epochs=8, widths=(4, 32), repeats=2),
    smoke=("--widths", "2,8", "--epochs", "1", "--subset", "64", "--repeats", "2"))
