"""`efficiency`: params, Mult-Adds, size, latency and published accuracy for a list of models."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.efficiency.by_layer import run_by_layer
from deepgen_cli.engine.efficiency.findings import findings
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.efficiency.candidates import Candidate, cannot_run, candidates, count, example_input, instantiate, ordered


MAX_THREADS = 256
MAX_MIN_TIME_S = 3600.0  # an hour of timing per model is already a mistake; infinity never ends


@dataclass(frozen=True)
class EfficiencyConfig:
    models: tuple[str, ...] = ("squeezenet", "mobilenet")  # specs: NAME[:ALPHA][@RESOLUTION]
    baseline: str | None = None  # ratios are against this model; None: the first one
    batch_size: int = 1  # images per timed forward pass
    threads: int | None = None  # CPU threads for torch; None keeps torch's default
    min_time_s: float = 0.5  # timed runs go on until this many seconds of them (per model)
    warmup_runs: int = 3
    channels_last: bool = False
    half: bool = False  # fp16 weights and inputs; CUDA only
    compile: bool = False  # torch.compile before timing
    weights: str | None = None  # local state_dict for the (single) model
    model_file: str | None = None  # FILE.py:factory[@RESOLUTION], benchmarked after --models
    by_layer: bool = False  # per-module breakdown of one model instead of the comparison


@dataclass
class EfficiencyRow:
    model: str  # as given, e.g. mobilenet:0.5@160
    name: str
    alpha: float | None  # width multiplier, for models that take one
    resolution: int  # input side, pixels
    batch_size: int
    threads: int
    params: int
    mult_adds: int  # multiply-accumulates per image (conv + linear)
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
    mult_adds_by_operator: dict = field(default_factory=dict)
    skipped_ops: dict = field(default_factory=dict)
    latency_samples_ms: list = field(default_factory=list)


def check(config: EfficiencyConfig, device: torch.device) -> None:
    if config.batch_size <= 0:
        raise UsageError(f"--batch-size: must be a positive integer, got {config.batch_size}")
    if config.threads is not None and not 1 <= config.threads <= MAX_THREADS:
        raise UsageError(f"--threads: must be an integer from 1 to {MAX_THREADS}, got {config.threads}")
    if not 0 < config.min_time_s <= MAX_MIN_TIME_S:
        raise UsageError(f"--min-time: must be a number of seconds in (0, {MAX_MIN_TIME_S}], got {config.min_time_s}")
    if config.warmup_runs < 0:
        raise UsageError(f"--warmup: must be 0 or more runs, got {config.warmup_runs}")
    if config.half and device.type != "cuda":
        raise UsageError("--half: fp16 inference needs --device cuda (or auto on a GPU machine)")


def measure_one(c: Candidate, config: EfficiencyConfig, device: torch.device) -> EfficiencyRow:
    model = instantiate(c, config)
    counted = count(c, model)
    size = measure.state_dict_mib(model)
    params = measure.count_params(model)
    example = example_input(c, config.batch_size).to(device)
    model = model.to(device)
    if config.channels_last:
        model, example = model.to(memory_format=torch.channels_last), example.contiguous(memory_format=torch.channels_last)
    if config.half:
        model, example = model.half(), example.half()
    runnable = torch.compile(model) if config.compile else model
    try:
        latency = measure.measure_latency(runnable, example, config.min_time_s, warmup_runs=config.warmup_runs)
    except RuntimeError as err:
        raise cannot_run(c, err) from None
    pub = published.lookup(c.name, c.alpha, c.resolution, c.torchvision_name)
    return EfficiencyRow(
        model=c.label, name=c.name, alpha=c.alpha, resolution=c.resolution, batch_size=config.batch_size,
        threads=torch.get_num_threads(), params=params, mult_adds=counted.total, size_mib=size,
        latency_ms_median=latency.median_ms, latency_ms_iqr=latency.iqr_ms,
        throughput_img_s=config.batch_size / (latency.median_ms / 1e3),
        top1=pub.top1 if pub else None, top5=pub.top5 if pub else None,
        published_dataset=pub.dataset if pub else None, published_source=pub.source if pub else None,
        published_mult_adds=pub.mult_adds if pub else None,
        mult_adds_by_operator=counted.by_operator, skipped_ops=counted.skipped_ops,
        latency_samples_ms=latency.samples_ms,
    )


def _with_ratios(row: EfficiencyRow, base: EfficiencyRow) -> EfficiencyRow:
    row.params_ratio = base.params / row.params if row.params else None
    row.mult_adds_ratio = base.mult_adds / row.mult_adds if row.mult_adds else None
    row.speedup = base.latency_ms_median / row.latency_ms_median
    return row


def run(config: EfficiencyConfig, device: torch.device, session):
    """Measure every model, reporting each row to `session` as it completes."""
    check(config, device)
    cands = ordered(candidates(config), config.baseline)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _measure_all(cands, config, device, session)
    finally:
        torch.set_num_threads(threads)  # the caller's process keeps its own setting


def _measure_all(cands: list[Candidate], config: EfficiencyConfig, device: torch.device, session):
    if config.by_layer:
        return run_by_layer(cands[0], config, session)
    rows: list[EfficiencyRow] = []
    for i, c in enumerate(cands, 1):
        previous = session.resumed(model=c.label)
        if previous is not None:
            row = EfficiencyRow(**{k: previous[k] for k in EfficiencyRow.__dataclass_fields__ if k in previous})
        else:
            session.progress(f"[{i}/{len(cands)}] {c.label}: counting and timing")
            row = measure_one(c, config, device)
        rows.append(_with_ratios(row, rows[0] if rows else row))
        session.row(row)
    session.progress("checking the published claims")
    return findings(rows)
