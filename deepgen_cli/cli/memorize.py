"""`deepgen memorize`: do networks fit random labels and noise images? (Zhang et al., ICLR 2017)"""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, fixed, percent, text

COLUMNS = [
    Column("model", "model", text, numeric=False),
    Column("seed", "seed", text),
    Column("corruption", "corruption", text, numeric=False),
    Column("noise", "p", fixed(2)),
    Column("changed_fraction", "changed", percent),
    Column("train_accuracy", "train acc", percent),
    Column("test_accuracy", "test acc", percent),
    Column("gap", "gap", percent),
    Column("fit_label", "epochs to 100%", text),
    Column("fit_time_s", "s to 100%", fixed(2)),
    Column("final_train_loss", "train loss", fixed(4)),
    Column("mean_entropy", "entropy", fixed(3)),
]


# With --regularizer: which one, and Pereyra's over-confidence figures on the test set.
REGULARIZER_COLUMNS = [
    Column("regularizer", "regularizer", text, numeric=False),
    Column("confident_fraction", "p>=.99", percent),
    Column("ece", "ECE", fixed(3)),
]


# Without --until-fit the run goes on past the fit: the epochs and seconds it ran differ from those to 100%.
RAN_COLUMNS = [Column("epochs_run", "epochs run", text), Column("train_time_s", "s run", fixed(2))]


def columns(config) -> list[Column]:
    out = COLUMNS if config.until_fit else [*COLUMNS[:-2], *RAN_COLUMNS, *COLUMNS[-2:]]
    if config.regularizer is None:
        return out
    at = [c.key for c in out].index("noise")  # the regularizer next to the corruption
    return [*out[:at], REGULARIZER_COLUMNS[0], *out[at:], *REGULARIZER_COLUMNS[1:]]


# `reproduce --quick` trains on 400 of digits' 1,347 training examples (p=1 then fits in about a third of the steps).
SPEC = ExperimentSpec(
    name="memorize",
    help="Train on randomly corrupted labels or images: train accuracy, test accuracy, the gap, time to fit.",
    config="deepgen_cli.engine.memorize:MemorizeConfig", row="deepgen_cli.engine.memorize:MemorizeRow",
    run="deepgen_cli.engine.memorize:run", view=lambda config: (columns(config), "Memorization (Zhang et al. 2017)"),
    plot=("memorize", "memorize_plot"), sweep=("noise", "repeats", "corruption", "regularizer"),
    papers="Zhang et al. 2017", torchrun=True, quick=dict(subset=400),
    smoke=("--noise", "0,1", "--subset", "100", "--epochs", "3"))
