"""Training throughput of deepgen's `train` vs a minimal hand-written PyTorch loop, measured in the same run.

Same model (same initial weights), data, batch size and optimizer; prints examples/s for both and the ratio.
Run: python benchmarks/bench_train.py [--model mlp1x512] [--dataset digits] [--device cuda --amp bf16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.config import AMP_MODES
from deepgen_cli.engine.env import resolve_device


def build(args, d):
    torch.manual_seed(0)
    return models.create(args.model, in_channels=d.in_channels, image_size=d.image_size, num_classes=d.num_classes)


def reference(model, d, args, device) -> float:
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
    start = time.perf_counter()
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
    return args.epochs * len(y) / (time.perf_counter() - start)


def deepgen(model, d, args, device) -> float:
    cfg = train.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, amp=args.amp,
                            channels_last=args.channels_last, compile=args.compile)
    start = time.perf_counter()
    result = train.train(model, d, cfg, device)
    _sync(device)
    return sum(e.examples for e in result.epochs) / (time.perf_counter() - start)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mlp1x512")
    p.add_argument("--dataset", default="digits", choices=data_mod.DATASETS)
    p.add_argument("--data-dir")
    p.add_argument("--image-size", type=int)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--repeats", type=int, default=15, help="alternating timed runs of each loop")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--amp", default="none", choices=AMP_MODES)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    d = data_mod.load(data_mod.DataConfig(dataset=args.dataset, data_dir=args.data_dir, image_size=args.image_size))
    print(f"{args.model} on {args.dataset} {tuple(d.x_train.shape)}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{device}, {torch.get_num_threads()} threads, amp={args.amp}, channels_last={args.channels_last}, "
          f"compile={args.compile}")
    reference(build(args, d), d, args, device)  # warm-up: allocator, kernels, compile caches
    deepgen(build(args, d), d, args, device)
    ref, ours = [], []
    for _ in range(args.repeats):  # alternate so that drift in machine load hits both loops alike
        ref.append(reference(build(args, d), d, args, device))
        ours.append(deepgen(build(args, d), d, args, device))
    # The best run of each is the least disturbed by other processes; the median of the paired ratios
    # (each deepgen run against the reference run just before it) is robust to slow drift in load.
    paired = statistics.median(o / r for o, r in zip(ours, ref))
    print(f"reference loop: best {max(ref):,.0f} examples/s, median {statistics.median(ref):,.0f} "
          f"(runs {', '.join(f'{v:,.0f}' for v in ref)})")
    print(f"deepgen train:  best {max(ours):,.0f} examples/s, median {statistics.median(ours):,.0f} "
          f"(runs {', '.join(f'{v:,.0f}' for v in ours)})")
    print(f"ratio deepgen / reference: {max(ours) / max(ref):.3f} best vs best, {paired:.3f} median of paired runs "
          f"(goal >= 0.95)")


if __name__ == "__main__":
    main()
