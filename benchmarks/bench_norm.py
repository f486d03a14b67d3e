"""Training-step cost of deepgen's batch renorm and ghost batch norm, against batch norm, on norm-compare's MLP.

Run: python benchmarks/bench_norm.py [--model mlp-bn] [--microbatch 2,4,32] [--blocks 21] [--steps 20]
     python benchmarks/bench_norm.py --inference --model cnn --image-size 32 --in-channels 3
Goals (issue 29): renorm's eager step at most 1.3x ghost batch norm's at the same microbatch (with --compile,
every model compiled: at most 1.10x, norm-compare's equivalence margin), and ghost batch norm at most 1.5x of `nn.BatchNorm1d` (the registry model as built, whole-minibatch statistics) at microbatches
below the minibatch. Every variant runs in each of --blocks blocks of --steps SGD steps, in a fresh shuffled
order per block, all in this one process on 1 thread, timed by CPU time (time.process_time: other processes
on shared cores do not add to it; on CUDA, wall time with synchronisation). Each ratio is taken within a
block; it prints the median over blocks, the min-max, and the median's distribution-free 95% interval, and
the verdict reads the interval: met (upper end <= goal), not met (lower end > goal), else not resolved.
"nn.BatchNorm1d again", a second identical model, shows what the same work reads against itself.
`--inference`: inference latency as built and folded into the convolutions (a conv model; BN vs renorm).
"""

from __future__ import annotations

import math
import argparse
import random
import statistics
import time

import torch
import torch.nn.functional as F

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import BatchRenorm2d, RenormSchedule
from deepgen_cli.engine.stats import median_interval

RENORM_GOAL = 1.3  # renorm / ghost batch norm at the same microbatch, eager
COMPILED_GOAL = 1.10  # renorm / batch norm with both compiled: norm-compare's equivalence margin (SPEED_MARGIN)
GHOST_GOAL = 1.5  # ghost batch norm / nn.BatchNorm1d, at microbatches below the minibatch
ACTIVE = RenormSchedule(3.0, 5.0, 0, 0, 0)  # r and d active and clips counted from step 1 (94% of a default run)


def variants(args, shape: dict) -> dict[str, torch.nn.Module]:
    """The timed models, all with the same initial weights (norm layers draw no random numbers)."""
    def seeded(build):
        torch.manual_seed(0)
        model = build().to(args.device).train()
        return torch.compile(model) if args.compile else model

    out = {"nn.BatchNorm1d": seeded(lambda: models.create(args.model, **shape)),
           "nn.BatchNorm1d again": seeded(lambda: models.create(args.model, **shape))}
    for m in args.microbatch:
        out[f"ghost BN m{m}"] = seeded(lambda: norms.build(args.model, "batch", microbatch=m, bn_momentum=0.01,
                                                           **shape))
        out[f"renorm m{m}"] = seeded(lambda: norms.build(args.model, "renorm", microbatch=m, schedule=ACTIVE, **shape))
    return out


def timed_blocks(nets: dict, x, y, blocks: int, steps: int, device: torch.device) -> dict[str, list[float]]:
    """ms per SGD step of every model in each block (one untimed block first: allocator, caches)."""
    opts = {k: torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) for k, net in nets.items()}
    if any(isinstance(net, torch._dynamo.eval_frame.OptimizedModule) for net in nets.values()):
        for k in nets:  # compile (and the one recompile a second call makes) before the untimed block
            for i in range(3):
                F.cross_entropy(nets[k](x[i]), y[i]).backward()
            opts[k].zero_grad(set_to_none=True)
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    order, times = list(nets), {k: [] for k in nets}
    rng = random.Random(0)
    for block in range(blocks + 1):
        rng.shuffle(order)
        for k in order:
            net, opt = nets[k], opts[k]
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = clock()
            for i in range(steps):
                xb, yb = x[(block + i) % len(x)], y[(block + i) % len(y)]
                loss = F.cross_entropy(net(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if block:
                times[k].append(1e3 * (clock() - t0) / steps)
    return times


def verdict(ratios: list[float], goal: float) -> tuple[str, str]:
    """(spread text, verdict) of per-block ratios against an upper goal."""
    ci = median_interval(ratios)
    if math.isinf(ci[0]):
        return f"[{min(ratios):.2f}-{max(ratios):.2f}], no 95% interval", "not resolved (needs 6+ blocks)"
    word = "met" if ci[1] <= goal else "not met" if ci[0] > goal else "not resolved"
    return f"min-max {min(ratios):.2f}-{max(ratios):.2f}, 95% CI {ci[0]:.3f}-{ci[1]:.3f}", word


def training_ratios(args) -> None:
    device = torch.device(args.device)
    shape = dict(in_channels=args.in_channels, image_size=args.image_size, num_classes=10)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, args.batch_size, args.in_channels, args.image_size, args.image_size, generator=gen)
    y = torch.randint(0, 10, (4, args.batch_size), generator=gen)
    nets = variants(args, shape)
    times = timed_blocks(nets, x.to(device), y.to(device), args.blocks, args.steps, device)
    clock = "CPU time" if device.type == "cpu" else "wall time, synchronised"
    mode = "every model torch.compile'd" if args.compile else "eager"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {device}, {clock}; {args.model} "
          f"{args.in_channels}x{args.image_size}x{args.image_size}, batch {args.batch_size}; {args.blocks} "
          f"interleaved blocks of {args.steps} steps; {mode}")
    print(f"{'variant':<22}{'median ms/step':>16}{'min-max':>18}")
    for k, t in times.items():
        print(f"{k:<22}{statistics.median(t):>16.3f}{min(t):>10.3f}-{max(t):.3f}")
    print(f"{'ratio (per block)':<40}{'median':>7}  {'spread':<42}{'goal':<6}verdict")

    def ratio(label, num, den, goal):
        r = [a / b for a, b in zip(times[num], times[den])]
        spread, word = verdict(r, goal) if goal else (verdict(r, 9e9)[0], "(reference)")
        print(f"{label:<40}{statistics.median(r):>7.3f}  {spread:<42}{f'{goal}x' if goal else '-':<6}{word}")

    ratio("nn.BatchNorm1d again / nn.BatchNorm1d", "nn.BatchNorm1d again", "nn.BatchNorm1d", None)
    for m in args.microbatch:
        ratio(f"renorm / ghost BN, m{m}", f"renorm m{m}", f"ghost BN m{m}", COMPILED_GOAL if args.compile else RENORM_GOAL)
    for m in args.microbatch:
        ratio(f"ghost BN / nn.BatchNorm1d, m{m}", f"ghost BN m{m}", "nn.BatchNorm1d",
              GHOST_GOAL if m < args.batch_size else None)


def inference(args) -> None:
    """BN against renorm inference latency, as built and folded (renorm's eval is BN's kernel)."""
    shape = dict(in_channels=args.in_channels, image_size=args.image_size, num_classes=10)
    torch.manual_seed(0)
    bn = norms.build(args.model, "batch", **shape).eval()
    brn = norms.build(args.model, "renorm", **shape).eval()
    brn.load_state_dict({k: v for k, v in bn.state_dict().items() if k in brn.state_dict()}, strict=False)
    x = torch.randn(args.batch_size, args.in_channels, args.image_size, args.image_size)

    def pair(a, b):
        sa, sb = [], []
        for _ in range(4):  # alternating rounds: drift hits both alike
            sa += measure.measure_latency(a, x, 0.25).samples_ms
            sb += measure.measure_latency(b, x, 0.25).samples_ms
        return statistics.median(sa), statistics.median(sb)

    for label, (a, b) in [("inference, as built", pair(bn, brn)),
                          ("inference, folded into the convs", pair(norms.fold_norms(bn), norms.fold_norms(brn)))]:
        print(f"{label:<34} BN {a:.3f} ms, BRN {b:.3f} ms, BRN/BN {b / a:.3f}")
    with torch.inference_mode():
        same = (brn(x) - norms.as_batch_norm(brn)(x)).abs().max().item()
    left = sum(isinstance(m, BatchRenorm2d) for m in norms.fold_norms(brn).modules())
    print(f"max |BRN_eval(x) - BN_eval(x)| with the same statistics: {same:.2e}; renorm layers left after "
          f"folding: {left}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mlp-bn")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--image-size", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--microbatch", type=lambda s: [int(v) for v in s.split(",")], default=[2, 4, 32])
    p.add_argument("--blocks", type=int, default=21, help="interleaved timed blocks (6 or more for an interval)")
    p.add_argument("--steps", type=int, default=20, help="SGD steps per variant and block")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--inference", action="store_true", help="also time inference, as built and folded")
    p.add_argument("--compile", action="store_true", help="torch.compile every model (goal renorm / ghost BN <= "
                   f"{COMPILED_GOAL}x: norm-compare's equivalence margin)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    # Every model is its own entry of one cache (they share Sequential.forward), two with the recompile its second
    # call makes: past the default limit of 8 the rest would run eager.
    torch._dynamo.config.recompile_limit = 64
    training_ratios(args)
    if args.inference:
        inference(args)


if __name__ == "__main__":
    main()
