"""Batch renorm against batch norm on the same convnet: training step time and inference latency.

Run: python benchmarks/bench_norm.py [--model cnn] [--image-size 32] [--batch-size 32] [--microbatch 4] [--min-time 1.0]
Prints medians and BRN/BN ratios measured in this one run (the paper: same speed; identical inference),
inference both as built and after folding each norm into the preceding convolution.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepgen_cli.engine import measure
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import BatchRenorm2d


def step_times_ms(model, x, y, min_time_s: float) -> list[float]:
    """Forward, backward and SGD step on one fixed batch, repeated; milliseconds per step."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    samples, spent = [], 0.0
    for i in range(3 + 10_000):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        if i >= 3:  # warmup steps are not timed
            samples.append(ms)
            spent += ms / 1e3
            if spent >= min_time_s and len(samples) >= 5:
                break
    return samples


def alternate(measure_a, measure_b, rounds: int = 4) -> tuple[float, float]:
    """Medians of both, measured in alternating rounds so drift (other load, clocks) hits both alike."""
    a, b = [], []
    for _ in range(rounds):
        a += measure_a()
        b += measure_b()
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--in-channels", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--microbatch", type=int, default=None,
                        help="examples per batch (re)norm statistic inside the minibatch (default: all of it)")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs per side and measure")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1, as norm-compare uses)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = dict(in_channels=args.in_channels, image_size=args.image_size, num_classes=10)
    bn = norms.build(args.model, "batch", microbatch=args.microbatch, **shape)
    brn = norms.build(args.model, "renorm", microbatch=args.microbatch, **shape)
    brn.load_state_dict({k: v for k, v in bn.state_dict().items() if k in brn.state_dict()}, strict=False)
    x = torch.randn(args.batch_size, args.in_channels, args.image_size, args.image_size)
    y = torch.randint(0, 10, (args.batch_size,))
    per = args.min_time / 4
    print(f"torch {torch.__version__}, {args.threads} threads, {args.model} {args.in_channels}x{args.image_size}"
          f"x{args.image_size}, batch {args.batch_size}, microbatch {args.microbatch or args.batch_size}")
    print(f"{'measure':<34}{'BN ms':>10}{'BRN ms':>10}{'BRN/BN':>9}")

    def show(label, pair):
        print(f"{label:<34}{pair[0]:>10.3f}{pair[1]:>10.3f}{pair[1] / pair[0]:>9.3f}")
        return pair[1] / pair[0]

    train = show("training step (fwd+bwd+SGD)", alternate(lambda: step_times_ms(bn, x, y, per),
                                                          lambda: step_times_ms(brn, x, y, per)))

    def latency(model):
        return lambda: measure.measure_latency(model, x, per).samples_ms

    plain = show("inference, as built", alternate(latency(bn.eval()), latency(brn.eval())))
    bn_f, brn_f = norms.fold_norms(bn), norms.fold_norms(brn)
    folded = show("inference, folded into the convs", alternate(latency(bn_f), latency(brn_f)))
    with torch.inference_mode():
        fold_err = max((bn_f(x) - bn.eval()(x)).abs().max().item(), (brn_f(x) - brn.eval()(x)).abs().max().item())
        same = (brn.eval()(x) - norms.as_batch_norm(brn)(x)).abs().max().item()
    left = (sum(isinstance(m, torch.nn.BatchNorm2d) for m in bn_f.modules()),
            sum(isinstance(m, BatchRenorm2d) for m in brn_f.modules()))
    print(f"folding changed outputs by at most {fold_err:.2e}; norm layers left after folding: BN {left[0]}, "
          f"BRN {left[1]}")
    print(f"max |BRN_eval(x) - BN_eval(x)| with the same statistics: {same:.2e}")
    print(f"ratios BRN/BN: training step {train:.3f}, inference {plain:.3f}, folded inference {folded:.3f}")


if __name__ == "__main__":
    main()
