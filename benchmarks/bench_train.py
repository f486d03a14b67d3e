"""Training throughput of deepgen's `train` against a minimal hand-written PyTorch loop, measured in one run.

Same model (same initial weights), data, batch size and optimizer. On the CPU each run is timed by this process's
CPU time on 1 thread, so other processes on a shared machine slow neither side; runs alternate (ABBA order), and
each deepgen run is paired with the hand run beside it. Prints the median of the paired ratios with its 95%
interval, the goal (deepgen at >= 0.95 of the hand loop) and a verdict that takes the interval into account.
Run: python benchmarks/bench_train.py [--model mlp1x512] [--dataset digits] [--repeats 41] [--device cuda --amp bf16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from deepgen_cli.engine import data as data_mod, models, stats, train
from deepgen_cli.engine.config import AMP_MODES
from deepgen_cli.engine.env import resolve_device

GOAL = 0.95  # deepgen's examples/s over the hand loop's (issue 29): bookkeeping may cost at most 5%


def build(args, d):
    torch.manual_seed(0)
    return models.create(args.model, in_channels=d.in_channels, image_size=d.image_size, num_classes=d.num_classes)


def reference(model, d, args, device, clock) -> float:
    """The loop anyone would write: tensors on the device, a permutation per epoch, SGD with momentum."""
    model.to(device).train()
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if args.compile else model
    x, y = d.x_train.to(device), d.y_train.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if args.amp == "bf16" else None
    _sync(device)
    start = clock()
    for _ in range(args.epochs):
        for idx in torch.randperm(len(y), generator=gen).split(args.batch_size):
            idx = idx.to(device)
            if amp is not None:
                with amp:
                    logits = net(x[idx])
            else:
                logits = net(x[idx])
            loss = F.cross_entropy(logits.float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return args.epochs * len(y) / (clock() - start)


def deepgen(model, d, args, device, clock) -> float:
    """The whole train() call, as a command makes it: setup, training, the per-epoch statistics."""
    cfg = train.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, amp=args.amp,
                            channels_last=args.channels_last, compile=args.compile)
    start = clock()
    result = train.train(model, d, cfg, device)
    _sync(device)
    return sum(e.examples for e in result.epochs) / (clock() - start)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def verdict(ratios: list[float], goal: float = GOAL) -> tuple[float, float, float, str]:
    """(median, low, high, verdict): the median paired ratio with its distribution-free 95% interval; "met"
    when the whole interval is at or above the goal, "not met" when it is all below, else "not resolved"."""
    low, high = stats.median_interval(ratios)
    verdict = "met" if low >= goal else "not met" if high < goal else "not resolved"
    return statistics.median(ratios), low, high, verdict


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mlp1x512")
    p.add_argument("--dataset", default="digits", choices=data_mod.DATASETS)
    p.add_argument("--data-dir")
    p.add_argument("--image-size", type=int)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--repeats", type=int, default=41,
                   help="pairs of timed runs, in ABBA order (6 or more; 41 take about 25 s)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: CPU time then sums no waiting)")
    p.add_argument("--amp", default="none", choices=AMP_MODES)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    # CPU time measures only this process's work on the CPU; a GPU's work happens outside it, so wall time there.
    clock, clock_name = (time.process_time, "CPU time") if device.type == "cpu" else (time.perf_counter, "wall time")
    d = data_mod.load(data_mod.DataConfig(dataset=args.dataset, data_dir=args.data_dir, image_size=args.image_size))
    print(f"{args.model} on {args.dataset} {tuple(d.x_train.shape)}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{device}, {torch.get_num_threads()} threads, {clock_name}, amp={args.amp}, "
          f"channels_last={args.channels_last}, compile={args.compile}")
    reference(build(args, d), d, args, device, clock)  # warm-up: allocator, kernels, compile caches
    deepgen(build(args, d), d, args, device, clock)
    ref, ours = [], []
    for i in range(args.repeats):  # ABBA: a drift in speed within a pair hits both loops alike
        if i % 2 == 0:
            ref.append(reference(build(args, d), d, args, device, clock))
            ours.append(deepgen(build(args, d), d, args, device, clock))
        else:
            ours.append(deepgen(build(args, d), d, args, device, clock))
            ref.append(reference(build(args, d), d, args, device, clock))
    for name, runs in (("hand loop", ref), ("deepgen train", ours)):
        print(f"{name + ':':15s} median {statistics.median(runs):,.0f} examples/s, "
              f"min-max {min(runs):,.0f}-{max(runs):,.0f} over {len(runs)} runs")
    med, low, high, said = verdict([o / r for o, r in zip(ours, ref)])
    ratios = sorted(o / r for o, r in zip(ours, ref))
    print(f"ratio deepgen / hand loop: median {med:.3f}, 95% interval {low:.3f}-{high:.3f}, "
          f"min-max {ratios[0]:.3f}-{ratios[-1]:.3f} over {len(ratios)} pairs")
    print(f"goal: >= {GOAL:.2f} of the hand loop; verdict: {said}")


if __name__ == "__main__":
    main()
