"""Raw measurements of a model: parameters, Mult-Adds (engine.counter), serialized size, latency."""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from deepgen_cli.engine import counter, op_counts
from deepgen_cli.engine.modes import eval_mode

def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def param_bytes(model: nn.Module) -> int:
    """Bytes the parameters take in memory at their dtypes (fp32: 4 per parameter)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


@dataclass
class MultAdds:
    total: int  # multiply-accumulates of the pass over its batch (per example)
    by_operator: dict[str, int]  # per example, by kind of work (conv, linear, matmul, attention, recurrent)
    by_module: dict[str, int]  # per example, each module with its children ("" is the model)
    skipped_ops: dict[str, int]  # ops with work but no count (activations, pools, norms...), with call counts
    activation_bytes: int = 0  # fresh tensors the forward wrote, at the batch size counted
    output_shapes: dict[str, str] = field(default_factory=dict)  # module -> its first output's shape
    calls: dict[str, int] = field(default_factory=dict)  # module -> times it ran in the pass
    uncounted_by_module: dict[str, list[str]] = field(default_factory=dict)  # module -> matrix ops not counted
    batch: int = 1

    @property
    def uncounted_matrix_ops(self) -> dict[str, int]:
        """Skipped ops that multiply matrices: when any, `total` is too low."""
        return {op: n for op, n in self.skipped_ops.items() if op_counts.does_matrix_work(op)}


def mult_adds(model: nn.Module, example: torch.Tensor, batch: int = 1) -> MultAdds:
    """Count Mult-Adds of one forward pass on `example`, divided by `batch`: the examples it holds (the
    activation bytes stay those of the whole pass).

    The papers' convention: multiply-accumulates of convolutions, fully connected layers, matrix products
    (attention, einsum, matmul) and recurrent layers; no norms, activations, pooling or bias additions.
    A `torch.compile`d module is counted through the module it wraps (counter.original).
    """
    c = counter.count(model, example)
    per = (lambda v: v // batch) if batch > 1 else (lambda v: v)
    return MultAdds(per(c.total), {k: per(v) for k, v in c.by_operator.items()},
                    {k: per(v) for k, v in c.by_module.items()}, c.skipped_ops, c.activation_bytes,
                    c.output_shapes, c.calls, c.uncounted, batch)


def state_dict_mib(model: nn.Module) -> float:
    """Size of the serialized fp32 state_dict, MiB (2**20 bytes)."""
    buffer = io.BytesIO()
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes / 2**20


@dataclass
class Latency:
    samples_ms: list[float]  # one per timed forward pass
    warmup_runs: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def iqr_ms(self) -> float:
        if len(self.samples_ms) < 2:
            return 0.0
        q = statistics.quantiles(self.samples_ms, n=4, method="inclusive")
        return q[2] - q[0]


def measure_latency(model: nn.Module, example: torch.Tensor, min_time_s: float = 0.5,
                    min_runs: int = 5, warmup_runs: int = 3, max_runs: int = 10_000) -> Latency:
    """Time forward passes in inference mode until `min_time_s` of timed runs (and `min_runs`) pass.

    On CUDA each run is timed with CUDA events, so the clock stops when the kernels end, not when
    they are queued.
    """
    cuda = example.is_cuda
    samples: list[float] = []
    with eval_mode(model), torch.inference_mode():  # the caller's mode again afterwards
        for _ in range(warmup_runs):
            model(example)
        if cuda:
            torch.cuda.synchronize(example.device)
        spent = 0.0
        while (spent < min_time_s or len(samples) < min_runs) and len(samples) < max_runs:
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(example)
                end.record()
                end.synchronize()
                ms = start.elapsed_time(end)
            else:
                t0 = time.perf_counter()
                model(example)
                ms = (time.perf_counter() - t0) * 1e3
            samples.append(ms)
            spent += ms / 1e3
    return Latency(samples, warmup_runs)


def block_orders(n: int, blocks: int) -> list[list[int]]:
    """The order of n models in each of `blocks` interleaved timing blocks: rotated by one every second block and
    reversed in every odd one, so each model runs first as often as last (n = 2: AB, BA, BA, AB; n = 3: all six
    orders in six blocks) and a drift in the machine's load hits every model alike."""
    out = []
    for b in range(blocks):
        k = (b // 2) % n
        order = list(range(k, n)) + list(range(k))
        out.append(order[::-1] if b % 2 else order)
    return out


def interleaved_latency(runs: list[tuple[nn.Module, torch.Tensor]], blocks: int, block_time_s: float,
                        min_runs: int = 3, warmup_runs: int = 1) -> list[list[float]]:
    """Per model, the median ms of its forward passes in each of `blocks` blocks that time the models one after
    another (block_orders); in a block each model runs until block_time_s of timed runs and at least min_runs.
    The per-block medians pair the models block by block, so a load change between blocks cancels in a ratio."""
    out: list[list[float]] = [[] for _ in runs]
    for i, (model, example) in enumerate(runs):  # one untimed pass of each first: allocator, caches, compilation
        measure_latency(model, example, 0.0, min_runs=1, warmup_runs=warmup_runs)
    for order in block_orders(len(runs), blocks):
        for i in order:
            model, example = runs[i]
            out[i].append(measure_latency(model, example, block_time_s, min_runs=min_runs, warmup_runs=0).median_ms)
    return out
