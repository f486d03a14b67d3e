"""deepgen's latency median against torch.utils.benchmark on the same model, input and threads.

Run: python benchmarks/bench_efficiency.py [--models squeezenet,mobilenet] [--min-time 1.0]
Prints, per model, deepgen's median, the Timer's median and their ratio (goal: within 10%),
then the wall time of the README command, measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch
import torch.utils.benchmark as tb

from deepgen_cli.engine import measure, models


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="squeezenet,mobilenet")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs, each side")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch 1")
    print(f"{'model':<22}{'deepgen ms':>12}{'Timer ms':>12}{'ratio':>8}  within 10%")
    worst = 0.0
    for spec in models.parse_specs(args.models):
        model = spec.build().eval()
        side = spec.input_side()
        x = torch.randn(1, 3, side, side)
        # Alternate the two timers twice so drift (thermal, other load) hits both alike.
        ours, theirs = [], []
        for _ in range(2):
            ours.append(measure.measure_latency(model, x, args.min_time / 2).median_ms)
            with torch.inference_mode():
                timer = tb.Timer("model(x)", globals={"model": model, "x": x}, num_threads=args.threads)
                theirs.append(timer.blocked_autorange(min_run_time=args.min_time / 2).median * 1e3)
        a, b = sorted(ours)[0], sorted(theirs)[0]
        ratio = a / b
        worst = max(worst, abs(ratio - 1))
        print(f"{spec.label:<22}{a:>12.2f}{b:>12.2f}{ratio:>8.3f}  {'yes' if abs(ratio - 1) <= 0.10 else 'NO'}")
    command = ["deepgen", "efficiency", "--models", args.models, "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"wall time of `{' '.join(command)}`: {time.perf_counter() - t0:.1f} s")
    print(f"largest latency difference: {worst:.1%}")
    sys.exit(0)


if __name__ == "__main__":
    main()
