"""efficiency's engine: params, Mult-Adds, size and latency of each model, timed interleaved."""

from __future__ import annotations

import statistics

import torch

from deepgen_cli.engine import measure
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.efficiency.by_layer import run_by_layer
from deepgen_cli.engine.efficiency.candidates import (Candidate, cannot_run, candidates, count, example_input,
                                                     instantiate, ordered)
from deepgen_cli.engine.efficiency.config import EfficiencyConfig, EfficiencyRow
from deepgen_cli.engine.efficiency.findings import findings, timing_subjects
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows


def _runnable(c: Candidate, model, config: EfficiencyConfig, device: torch.device):
    """The model and an input batch on the device as timed: channels-last, fp16 and compiled as asked."""
    example = example_input(c, config.batch_size).to(device)
    model = model.to(device)
    if config.channels_last:
        model, example = model.to(memory_format=torch.channels_last), example.contiguous(memory_format=torch.channels_last)
    if config.half:
        model, example = model.half(), example.half()
    return (torch.compile(model) if config.compile else model), example


def measure_one(c: Candidate, config: EfficiencyConfig, device: torch.device) -> EfficiencyRow:
    model = instantiate(c, config)
    counted = count(c, model, config.batch_size)
    size = measure.state_dict_mib(model)
    params = measure.count_params(model)
    runnable, example = _runnable(c, model, config, device)
    cuda = example.is_cuda
    if cuda:
        torch.cuda.reset_peak_memory_stats(example.device)
    try:
        latency = measure.measure_latency(runnable, example, config.min_time_s, warmup_runs=config.warmup_runs)
    except RuntimeError as err:
        raise cannot_run(c, err) from None
    pub = published.lookup(c.name, c.alpha, c.resolution, c.torchvision_name) if c.shape[1] == c.shape[2] else None
    missing = counted.uncounted_matrix_ops
    return EfficiencyRow(
        model=c.label, name=c.name, alpha=c.alpha, resolution=c.resolution, batch_size=config.batch_size,
        threads=torch.get_num_threads(), params=params, mult_adds=counted.total, size_mib=size,
        latency_ms_median=latency.median_ms, latency_ms_iqr=latency.iqr_ms,
        throughput_img_s=config.batch_size / (latency.median_ms / 1e3),
        top1=pub.top1 if pub else None, top5=pub.top5 if pub else None,
        published_dataset=pub.dataset if pub else None, published_source=pub.source if pub else None,
        published_mult_adds=pub.mult_adds if pub else None, input_shape=c.shape_text,
        flops=2 * counted.total if config.flops else None, param_bytes=measure.param_bytes(model),
        activation_bytes=counted.activation_bytes,
        peak_gpu_bytes=torch.cuda.max_memory_allocated(example.device) if cuda else None,
        uncounted_ops=("too low: " + ", ".join(op.split("::")[-1] for op in missing)) if missing else "",
        uncounted_matrix_ops=missing, mult_adds_by_operator=counted.by_operator, skipped_ops=counted.skipped_ops,
        latency_samples_ms=latency.samples_ms,
    )


def _with_ratios(row: EfficiencyRow, rows: list[EfficiencyRow]) -> EfficiencyRow:
    base = rows[0] if rows else row  # the baseline is measured first
    row.params_ratio = base.params / row.params if row.params else None
    row.mult_adds_ratio = base.mult_adds / row.mult_adds if row.mult_adds else None
    row.speedup = base.latency_ms_median / row.latency_ms_median
    # One run's comparison is only as good as its spread: when the two interquartile ranges overlap, the medians'
    # difference is inside the run-to-run noise and the speedup cannot be read as one (the measured claims use
    # interleaved blocks and their own intervals instead).
    if row is not base and _overlap(row, base):
        row.timing_note = "spread too large to compare with " + base.model
    return row


def _overlap(a: EfficiencyRow, b: EfficiencyRow) -> bool:
    lo_a, hi_a = _quartiles(a)
    lo_b, hi_b = _quartiles(b)
    return lo_a <= hi_b and lo_b <= hi_a


def _quartiles(r: EfficiencyRow) -> tuple[float, float]:
    if len(r.latency_samples_ms) < 2:
        return r.latency_ms_median, r.latency_ms_median
    q = statistics.quantiles(r.latency_samples_ms, n=4, method="inclusive")
    return q[0], q[2]


def run(config: EfficiencyConfig, device: torch.device, session) -> Outcome:
    """Measure every model, reporting each row to `session` as it completes."""
    config.check()
    torch.manual_seed(config.seed)  # random inputs and initial weights
    cands = ordered(candidates(config), config.baseline)
    with torch_threads(config.threads):
        if config.by_layer:
            return run_by_layer(cands[0], config, session)
        rows = measure_rows(session, cands, row_type=EfficiencyRow, key=lambda c: (c.label,),
                            measure=lambda c, label: measure_one(c, config, device),
                            label=lambda c: f"{c.label}: counting and timing", complete=_with_ratios)
        blocks = _timing_blocks(cands, rows, config, device, session)
        session.progress("checking the published claims")
        return findings(rows, blocks)


def _timing_blocks(cands, rows, config: EfficiencyConfig, device, session) -> dict[str, list[float]] | None:
    """Per-block median latency (ms) of the models the measured timing claims compare, timed interleaved."""
    labels = timing_subjects(rows)
    if not labels or not config.timing_blocks:
        return None
    chosen = [c for c in cands if c.label in labels]
    session.progress(f"timing {', '.join(c.label for c in chosen)} in {config.timing_blocks} interleaved blocks")
    runs = [_runnable(c, instantiate(c, config), config, device) for c in chosen]
    try:
        ms = measure.interleaved_latency(runs, config.timing_blocks, config.min_time_s / config.timing_blocks,
                                         warmup_runs=config.warmup_runs)
    except RuntimeError as err:
        raise cannot_run(chosen[0], err) from None
    return {c.label: v for c, v in zip(chosen, ms)}
