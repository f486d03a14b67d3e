"""`deepgen norm-compare`: batch norm vs batch renorm (and group norm, no norm) at small microbatches and on
non-i.i.d. minibatches."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("norm", "norm", text, numeric=False),
    Column("microbatch", "micro", text),  # empty for group norm and none: per example
    Column("sampling", "sampling", text, numeric=False),
    Column("seed", "seed"),
    Column("test_accuracy", "test acc (eval)", percent),
    Column("test_accuracy_batch_stats", "test acc (batch stats)", percent),
    Column("output_gap_tv", "train/eval gap", fixed(3)),
    Column("train_accuracy", "train acc", percent),
    Column("steps", "steps", count),
    Column("renorm_active_steps", "r/d steps", count),
    Column("r_clipped_fraction", "r clipped", percent),
    Column("train_step_ms", "step ms", fixed(2)),
    Column("latency_ms_median", "latency ms", fixed(3)),
]


# `reproduce --quick` drops the microbatch-2 setting and trains 2 epochs on 500 examples (about a fifteenth of the
# steps: the default is most of reproduce's time).
SPEC = ExperimentSpec(
    name="norm-compare", help="Train one network with batch norm, batch renorm, group norm and none, with batch "
                              "statistics from small microbatches and on non-i.i.d. minibatches.",
    config="deepgen_cli.engine.norm_compare:NormCompareConfig", row="deepgen_cli.engine.norm_compare:NormCompareRow",
    run="deepgen_cli.engine.norm_compare:run", columns=tuple(COLUMNS), title="Batch norm vs batch renorm",
    plot=("norm_compare", "norm_compare_plot"), sweep=("norms", "microbatch", "repeats"), papers="Ioffe 2017",
    torchrun=True, quick=dict(microbatch=(4, 32), epochs=2, subset=500),
    smoke=("--norms", "batch,renorm", "--batch-size", "8", "--microbatch", "4,8", "--non-iid", "0", "--epochs", "1",
           "--subset", "64", "--repeats", "2", "--eager-timing"))
