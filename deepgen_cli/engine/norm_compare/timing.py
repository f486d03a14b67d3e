"""Training-step cost of batch renorm against batch norm, and of batch norm against an identical copy of
itself, timed in interleaved blocks so that load changes on a shared machine hit all three alike; all three
torch.compile'd where compilation works here (as a user of either method would run it), else all three eager."""

from __future__ import annotations

import itertools
import time

import torch
import torch.nn.functional as F

from deepgen_cli.engine.data.sampling import iid_batches
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import RenormSchedule

VARIANTS = ("batch", "batch again", "renorm")  # "batch again": a second, identical batch norm model
# Block b runs the variants in ORDERS[b % 6]: over every 6 blocks each variant runs first, second and third twice,
# so a position effect (the first block after another model's steps warms the caches less) hits all three alike
# and batch norm against its copy measures what is left: the self-comparison bias.
ORDERS = tuple(itertools.permutations(VARIANTS))


def _block(model, opt, x, y, batches, start: int, steps: int, device) -> float:
    """Milliseconds per SGD step over `steps` minibatches from `start` (cycling): CPU time on the CPU (other
    processes on shared cores do not add to it), wall time with synchronisation on a GPU."""
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = clock()
    for i in range(steps):
        idx = batches[(start + i) % len(batches)]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 1e3 * (clock() - t0) / steps


def _compiled(models: dict, x, y, batches, device) -> tuple[dict, str | None]:
    """(the models compiled, None) where torch.compile builds and runs a step of every one of them here (it
    needs a C compiler on the CPU), else (the eager models, why not)."""
    torch._dynamo.reset()  # the models of earlier microbatches: torch.compile keeps at most 8 per code object
    try:
        out = {v: (torch.compile(model), opt) for v, (model, opt) in models.items()}
        for net, opt in out.values():
            _block(net, opt, x, y, batches, 0, 1, device)  # compiles now: a failure shows here, not in a block
        return out, None
    except Exception as err:  # no C compiler, an unsupported op, a backend error: all three stay eager alike
        torch._dynamo.reset()
        return models, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]


def time_steps(config, data, microbatch: int, device) -> tuple[dict[str, list[float]], str | None]:
    """ms per training step of each variant in config.timing_blocks blocks of config.timing_steps steps, the
    variants' order cycling through all six (ORDERS); one untimed block of each first (allocator, caches).

    Renorm runs with r and d active from its first step and counts its clips, as in 94% of a default run's
    steps; all three models start from the same weights and see the same minibatches. Unless config.eager_timing,
    all three are torch.compile'd where that works. Returns (times, None if compiled else why they ran eager).
    """
    device = torch.device(device)
    x, y = data.x_train.to(device), data.y_train.to(device)
    batches = [b.to(device) for b in iid_batches(len(y), config.batch_size, torch.Generator().manual_seed(0),
                                                 drop_last=True)]
    active = RenormSchedule(config.rmax, config.dmax, 0, 0, 0)
    models = {}
    for v in VARIANTS:
        torch.manual_seed(config.seed)
        model = norms.build(config.model, v.split()[0], in_channels=data.in_channels, image_size=data.image_size,
                            num_classes=data.num_classes, bn_momentum=config.bn_momentum,
                            renorm_momentum=config.renorm_momentum, schedule=active,
                            microbatch=microbatch).to(device).train()
        models[v] = (model, torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum))
    eager = "--eager-timing"
    if not config.eager_timing:
        models, eager = _compiled(models, x, y, batches, device)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for block in range(config.timing_blocks + 1):
        for v in ORDERS[(block - 1) % len(ORDERS)]:
            ms = _block(*models[v], x, y, batches, block * config.timing_steps, config.timing_steps, device)
            if block:
                times[v].append(ms)
    return times, eager
