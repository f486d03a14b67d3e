"""`deepgen efficiency`: params, Mult-Adds, size, latency and accuracy, with ratios to a baseline."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, count, fixed, percent, ratio, text

FLOPS = Column("flops", "FLOPs (2 x Mult-Adds)", count)  # one multiply and one add per Mult-Add
UNCOUNTED = Column("uncounted_ops", "not counted", text, numeric=False)  # marks a count that is too low
COLUMNS = [
    Column("model", "model", text, numeric=False),
    Column("input_shape", "input", text, numeric=False),
    Column("params", "params", count),
    Column("mult_adds", "Mult-Adds", count),
    UNCOUNTED,
    Column("size_mib", "size MiB", fixed(2)),
    Column("param_bytes", "param B", count),
    Column("activation_bytes", "activ. B", count),  # one forward pass at the batch size
    Column("peak_gpu_bytes", "GPU peak B", count),
    Column("latency_ms_median", "latency ms", fixed(2)),
    Column("latency_ms_iqr", "IQR ms", fixed(2)),
    Column("throughput_img_s", "img/s", fixed(1)),
    Column("top1", "pub. top-1", percent),  # published accuracy, not measured here
    Column("top5", "pub. top-5", percent),
    Column("published_dataset", "pub. data", text, numeric=False),
    Column("params_ratio", "x fewer params", ratio),
    Column("mult_adds_ratio", "x fewer Mult-Adds", ratio),
    Column("speedup", "x faster", ratio),
    Column("timing_note", "timing", text, numeric=False),
]
LAYER_COLUMNS = [Column("module", "module", text, numeric=False), Column("type", "type", text, numeric=False),
                 Column("output_shape", "output shape", text, numeric=False), Column("params", "params", count),
                 Column("params_share", "params share", percent), Column("mult_adds", "Mult-Adds", count),
                 Column("mult_adds_share", "Mult-Adds share", percent), UNCOUNTED, Column("calls", "calls", text)]


def _view(config):
    def with_flops(cols):
        return cols[:cols.index(UNCOUNTED)] + [FLOPS] + cols[cols.index(UNCOUNTED):] if config.flops else cols
    return (with_flops(LAYER_COLUMNS), "Per-module breakdown") if config.by_layer else (with_flops(COLUMNS), "Efficiency")


# `reproduce` runs the papers' models: each finding needs two of them (SqueezeNet vs AlexNet, MobileNet with and
# without depthwise convolutions, 0.50 MobileNet-160 vs both) or counts against a published figure (DenseNet-121:
# torchvision's). --quick keeps every finding's inputs (its verdicts are counts): only timing shrinks.
PAPER_MODELS = ("squeezenet", "squeezenet1_1", "alexnet", "mobilenet", "mobilenet-conv", "mobilenet:0.5@160",
                "densenet121")
ENGINE = "deepgen_cli.engine.efficiency"

SPEC = ExperimentSpec(
    name="efficiency", help="Compare parameters, Mult-Adds, size, memory, latency and published accuracy of models.",
    config=f"{ENGINE}:EfficiencyConfig", row=f"{ENGINE}:EfficiencyRow", run=f"{ENGINE}:run", view=_view,
    row_of=lambda config: f"{ENGINE}.by_layer:LayerRow" if config.by_layer else f"{ENGINE}:EfficiencyRow",
    plot=("efficiency", "efficiency_plot"), sweep=("models",), papers="Howard et al. 2017; Iandola et al. 2016",
    reproduce=dict(models=PAPER_MODELS, threads=1, min_time_s=0.2), quick=dict(min_time_s=0.01, warmup_runs=1),
    smoke=("--models", "squeezenet1_1@48,mobilenet:0.25@48", "--min-time", "0.01"))
