"""`deepgen efficiency`: params, Mult-Adds, size, latency and accuracy, with ratios to a baseline."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, ratio, text

COLUMNS = [
    Column("model", "model", text, numeric=False),
    Column("resolution", "input", text),
    Column("params", "params", count),
    Column("mult_adds", "Mult-Adds", count),
    Column("size_mib", "size MiB", fixed(2)),
    Column("latency_ms_median", "latency ms", fixed(2)),
    Column("latency_ms_iqr", "IQR ms", fixed(2)),
    Column("throughput_img_s", "img/s", fixed(1)),
    Column("top1", "pub. top-1", percent),  # published accuracy, not measured here
    Column("top5", "pub. top-5", percent),
    Column("published_dataset", "pub. dataset", text, numeric=False),
    Column("params_ratio", "x fewer params", ratio),
    Column("mult_adds_ratio", "x fewer Mult-Adds", ratio),
    Column("speedup", "x faster", ratio),
]
LAYER_COLUMNS = [
    Column("module", "module", text, numeric=False),
    Column("type", "type", text, numeric=False),
    Column("params", "params", count),
    Column("mult_adds", "Mult-Adds", count),
    Column("mult_adds_share", "share", percent),
]


# `reproduce` runs the papers' models: each finding needs two of them (SqueezeNet vs AlexNet, MobileNet with and
# without depthwise convolutions, 0.50 MobileNet-160 vs both) or counts against a published figure (DenseNet-121:
# torchvision's). One thread: on shared cores a second thread waits at every barrier (measured: squeezenet 1.4 s a
# forward on 2 busy cores). --quick keeps every finding's inputs (its verdicts are counts): only timing shrinks.
PAPER_MODELS = ("squeezenet", "squeezenet1_1", "alexnet", "mobilenet", "mobilenet-conv", "mobilenet:0.5@160",
                "densenet121")
ENGINE = "deepgen_cli.engine.efficiency"

SPEC = ExperimentSpec(
    name="efficiency", help="Compare parameters, Mult-Adds, size, latency and published accuracy of models.",
    config=f"{ENGINE}:EfficiencyConfig", row=f"{ENGINE}:EfficiencyRow", run=f"{ENGINE}:run",
    view=lambda config: (LAYER_COLUMNS, "Per-module breakdown") if config.by_layer else (COLUMNS, "Efficiency"),
    row_of=lambda config: f"{ENGINE}.by_layer:LayerRow" if config.by_layer else f"{ENGINE}:EfficiencyRow",
    plot=("efficiency", "efficiency_plot"), sweep=("models",), papers="Howard et al. 2017; Iandola et al. 2016",
    reproduce=dict(models=PAPER_MODELS, threads=1, min_time_s=0.2), quick=dict(min_time_s=0.01, warmup_runs=1),
    smoke=("--models", "squeezenet1_1@48,mobilenet:0.25@48", "--min-time", "0.01"))
