"""efficiency's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.config import (THREADS, WEIGHTS, BATCH_SIZE, CHANNELS_LAST, COMPILE, RunOptions, at_least,
                                       once, opt, split_list)
from deepgen_cli.engine.errors import UsageError


MAX_MIN_TIME_S = 3600.0  # an hour of timing per model is already a mistake; infinity never ends
TIMING = ("batch_size", "min_time_s", "warmup_runs", "channels_last", "half", "compile", "baseline", "threads")


def _specs(text: str, flag: str) -> tuple[str, ...]:
    """Comma-separated model specs, each checked (name, alpha, resolution) and none repeated; given, at least one."""
    specs = once(tuple(split_list(text)), split_list(text), flag)
    if not specs:
        raise UsageError(f"{flag}: no model given; valid: {', '.join(models.names())} (or leave {flag} out: "
                         "squeezenet,mobilenet, or only the --model-file)")
    for spec in specs:
        models.parse_spec(spec, flag)  # fail on a bad name before anything heavy
    return specs


def _shape(text: str, flag: str) -> tuple[int, int, int]:
    parts = str(text).lower().split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"{flag}: cannot read '{text}'; write CHANNELSxHEIGHTxWIDTH, e.g. {flag} 1x28x28")
    return tuple(int(p) for p in parts)


MODELS = opt("--models", "-m", parse=_specs, optional=True, show=",".join, metavar="NAME[:ALPHA][@RES]",
             help="Comma-separated models, e.g. mobilenet:0.5@160 (width 0.5, 160x160 input). See `deepgen models`. "
                  "Default: squeezenet,mobilenet, or only the --model-file when one is given.")
INPUT_SHAPE = opt("--input-shape", optional=True, parse=_shape, show=lambda v: "x".join(map(str, v)),
                  metavar="CxHxW", help="One input's channels, height and width for every model, e.g. 1x28x28 "
                                        "(default: each model's own, 3xRESxRES).")
FLOPS = opt("--flops", type=bool, help="Also show FLOPs, counted as 2 x Mult-Adds (one multiply and one add each).")
DEPTH = opt("--depth", type=int, optional=True, check=at_least(1), valid="1 or more",
            help="With --by-layer: modules down to this nesting depth, deeper ones summed into them (default: leaves).")
BASELINE = opt("--baseline", optional=True, help="Ratios against this model (default: the first).")
MIN_TIME = opt("--min-time", type=float, check=lambda v: 0 < v <= MAX_MIN_TIME_S,
               valid=f"a number of seconds in (0, {MAX_MIN_TIME_S:g}]", help="Seconds of timed runs per model.")
WARMUP = opt("--warmup", type=int, check=at_least(0), valid="0 or more runs", help="Untimed forward passes before timing.")
HALF = opt("--half", type=bool, help="fp16 weights and inputs (CUDA only).")
MODEL_FILE = opt("--model-file", optional=True, metavar="FILE.py:FACTORY",
                 help="Your network: FACTORY(**KW) from FILE.py (runs that file as code), written "
                      "FILE.py:FACTORY(KW=V,..)@RES with the keywords and the side optional; measured alone, or after "
                      "--models when they are given.")
BY_LAYER = opt("--by-layer", type=bool, help="Per-module params and Mult-Adds of one model, no timing.")


@dataclass(frozen=True, kw_only=True)
class EfficiencyConfig(RunOptions):
    # specs NAME[:ALPHA][@RESOLUTION]; None (not given): candidates.DEFAULT_MODELS, or only the --model-file
    models: tuple[str, ...] | None = MODELS(None)
    input_shape: tuple[int, int, int] | None = INPUT_SHAPE(None)  # (C, H, W) of one input, every model
    # One thread unless asked: on shared cores a second thread waits at every barrier, and the spread it adds
    # (an IQR larger than the medians at torch's default, issue 25) swamps the comparison.
    threads: int | None = THREADS(1)
    baseline: str | None = BASELINE(None)  # ratios are against this model; None: the first one
    batch_size: int = BATCH_SIZE.but(help="Images per timed forward pass.")(1)
    min_time_s: float = MIN_TIME(0.5)  # timed runs go on until this many seconds of them (per model)
    warmup_runs: int = WARMUP(3)
    channels_last: bool = CHANNELS_LAST(False)
    half: bool = HALF(False)  # fp16 weights and inputs; CUDA only
    compile: bool = COMPILE(False)  # torch.compile before timing
    weights: str | None = WEIGHTS(None)  # local state_dict for the (single) model
    model_file: str | None = MODEL_FILE(None)  # FILE.py:factory[(kw=..)][@RESOLUTION], after --models
    by_layer: bool = BY_LAYER(False)  # per-module breakdown of one model instead of the comparison
    depth: int | None = DEPTH(None)  # --by-layer nesting depth; None: leaf modules
    flops: bool = FLOPS(False)  # add FLOPs = 2 x Mult-Adds
    # Interleaved blocks for the measured timing claims (MobileNet vs SqueezeNet, latency vs Mult-Adds): their
    # models timed one after another in each block, min_time_s / timing_blocks each, the order rotating
    # (measure.block_orders); 8 blocks give a t interval with 7 degrees of freedom. 0: no such timing, the
    # timing claims then cannot tell.
    timing_blocks: int = 8

    def check(self) -> None:
        super().check()
        # "auto" is checked once resolved (the run checks again): whether it is a GPU takes torch to tell
        if self.half and not self.device.startswith(("cuda", "auto")):
            raise UsageError("--half: fp16 inference needs --device cuda (or auto on a GPU machine)")
        if self.depth is not None and not self.by_layer:
            raise UsageError("--depth: it sets --by-layer's nesting; give --by-layer too, or drop --depth")
        from deepgen_cli.engine.efficiency.candidates import batch_fits, candidates  # torch: the checks above ran

        batch_fits(self, candidates(self))  # model names, --weights and --by-layer with one model; then the batch

    def ignored(self) -> dict[str, str]:
        if not self.by_layer:
            return {}
        why = "--by-layer counts params and Mult-Adds of one model, it times and plots nothing"
        return {**{name: why for name in TIMING}, "plot": why, "resume": why}


@dataclass
class EfficiencyRow:
    KEY: ClassVar[tuple[str, ...]] = ("model",)  # --resume's and report's

    model: str  # as given, e.g. mobilenet:0.5@160
    name: str
    alpha: float | None  # width multiplier, for models that take one
    resolution: int  # input side, pixels
    batch_size: int
    threads: int
    params: int
    mult_adds: int  # multiply-accumulates per image (conv, linear, matrix products, recurrent)
    size_mib: float  # serialized fp32 state_dict
    latency_ms_median: float  # per batch
    latency_ms_iqr: float
    throughput_img_s: float
    top1: float | None = None  # published, fraction 0..1
    top5: float | None = None
    published_dataset: str | None = None
    published_source: str | None = None
    published_mult_adds: int | None = None
    params_ratio: float | None = None  # baseline params / this model's ("x fewer params")
    mult_adds_ratio: float | None = None  # baseline Mult-Adds / this model's
    speedup: float | None = None  # baseline latency / this model's ("x faster")
    input_shape: str = ""  # one input, CxHxW
    flops: int | None = None  # 2 x mult_adds, with --flops
    param_bytes: int = 0  # parameters as stored (dtype sizes), not the serialized file
    activation_bytes: int = 0  # tensors one forward pass writes at batch_size (no autograd, views not counted)
    peak_gpu_bytes: int | None = None  # torch.cuda.max_memory_allocated over the timed passes; CPU: None
    uncounted_ops: str = ""  # matrix ops that ran without a count: mult_adds is then too low (a table column)
    timing_note: str = ""  # "spread too large" when this row's and the baseline's latency IQRs overlap
    uncounted_matrix_ops: dict = field(default_factory=dict)  # those ops -> calls
    mult_adds_by_operator: dict = field(default_factory=dict)
    skipped_ops: dict = field(default_factory=dict)
    latency_samples_ms: list = field(default_factory=list)
