"""deepgen's Mult-Add count of every torchvision classifier against torchvision's own published `_ops`, and
what counting costs against one plain forward pass at the same input.

Run: nice python benchmarks/bench_counts.py [--only vit_b_16,swin_t] [--threads 1] [--rounds 3]
Each model is built without weights (nothing is downloaded) at its DEFAULT weights' crop size and
counted with deepgen's counter; the ratio to the weights' `_ops` (GMACs, 3 decimals) should be
within 1%. `_ops` stands for any count that rounds to it (0.040 for 0.0395 to 0.0405 G), so a count
within 1% of that interval passes, marked "rounding" where the plain ratio alone is outside 1%.
The cost: per model, `--rounds` interleaved pairs of (plain forward under no_grad, counting), each timed in
CPU seconds after one untimed forward; the ratio is the median counting time over the median forward time,
and the goal is a median ratio over the models of at most RATIO_GOAL (the 95% interval of that median is the
sign test's, stats.median_interval). Exit status 1 when any counted model is outside 1% or the goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import statistics
import time

import torch
import torchvision

from deepgen_cli.engine import measure
from deepgen_cli.engine.stats import median_interval

TOLERANCE = 0.01  # the goal: every counted model within 1% of `_ops`
RATIO_GOAL = 1.5  # issue 27: counting costs at most 1.5x one forward pass (median over the models)
HALF_STEP_G = 0.0005  # `_ops` is published in GMACs to 3 decimals
# Too big for a 24 GiB machine shared with other jobs: the fp32 weights alone, plus the
# initialization's temporaries and the traced activations at the weights' crop size.
SKIP = {
    "vit_h_14": "632M params (2.5 GiB fp32) at 518x518, 1017 GMACs: too big for this 24 GiB, 2-core machine",
    "regnet_y_128gf": "645M params (2.6 GiB fp32) at 384x384, 375 GMACs: too big for this 24 GiB, 2-core machine",
}


def crop_size(weights) -> int:
    return weights.transforms.keywords["crop_size"]


def cost(model, x, rounds: int):
    """(median forward CPU s, median counting CPU s, the count) over `rounds` interleaved pairs; with 0 rounds
    only the count (no forward: the times are NaN)."""
    model.eval()
    if rounds == 0:
        return float("nan"), float("nan"), measure.mult_adds(model, x)
    with torch.no_grad():
        model(x)  # untimed: allocator, caches, lazy init
    forward, counting = [], []
    for r in range(rounds):
        for which in ((0, 1) if r % 2 == 0 else (1, 0)):  # alternate which goes first: load drift cancels
            t0 = time.process_time()
            if which == 0:
                with torch.no_grad():
                    model(x)
                forward.append(time.process_time() - t0)
            else:
                counted = measure.mult_adds(model, x)
                counting.append(time.process_time() - t0)
    return statistics.median(forward), statistics.median(counting), counted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated torchvision names (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved forward/counting pairs per model; 0: counts only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = torchvision.models.list_models(module=torchvision.models)
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {args.threads} thread(s); "
          f"{len(names)} classification models")
    print(f"{'model':<20}{'crop':>5}{'deepgen G':>12}{'_ops G':>10}{'ratio':>9}{'rounding':>10}  within 1%      "
          f"{'time s':>6}{'count/fwd':>10}")
    outside, counted, skipped, by_rounding, ratios = [], 0, [], [], []
    for name in names:
        weights = torchvision.models.get_model_weights(name).DEFAULT
        if name in SKIP:
            skipped.append(name)
            print(f"{name:<20}skipped: {SKIP[name]}")
            continue
        side, ops = crop_size(weights), weights.meta["_ops"]
        t0 = time.perf_counter()
        torch.manual_seed(0)
        model = torchvision.models.get_model(name, weights=None)
        fwd_s, count_s, counted_madds = cost(model, torch.zeros(1, 3, side, side), args.rounds)
        del model
        if args.rounds:
            ratios.append(count_s / fwd_s)
        got = counted_madds.total / 1e9
        ratio = got / ops
        # `_ops` is rounded to 0.001 G: the ratio itself is uncertain by this much.
        rounding = HALF_STEP_G / ops
        plain = abs(ratio - 1) <= TOLERANCE
        ok = abs(got - ops) <= TOLERANCE * ops + HALF_STEP_G
        counted += 1
        if not ok:
            outside.append(name)
        elif not plain:
            by_rounding.append(name)
        missing = counted_madds.uncounted_matrix_ops
        print(f"{name:<20}{side:>5}{got:>12.6f}{ops:>10.3f}{ratio:>9.4f}{rounding:>9.2%}   "
              f"{('yes' if plain else 'yes, rounding') if ok else 'NO':<14}{time.perf_counter() - t0:>6.1f}{ratios[-1] if args.rounds else float('nan'):>10.2f}"
              + (f"  matrix ops not counted: {', '.join(missing)}" if missing else ""), flush=True)
    print(f"{counted} counted, {counted - len(outside)} within {TOLERANCE:.0%} of torchvision's _ops; "
          f"{len(skipped)} skipped ({', '.join(skipped) or 'none'})")
    if by_rounding:
        print(f"within {TOLERANCE:.0%} only through the 3-decimal rounding of _ops: {', '.join(by_rounding)}")
    if outside:
        print(f"outside {TOLERANCE:.0%}: {', '.join(outside)}")
    if not args.rounds:
        print("--rounds 0: counts only, no timing")
        sys.exit(1 if outside else 0)
    median = statistics.median(ratios) if ratios else float("nan")
    low, high = median_interval(ratios)
    met = median <= RATIO_GOAL
    print(f"counting / one forward (CPU time, {args.threads} thread(s), {args.rounds} interleaved rounds): median "
          f"{median:.2f}x over {len(ratios)} models (95% interval {low:.2f}-{high:.2f}x), max {max(ratios, default=0):.2f}x; "
          f"goal at most {RATIO_GOAL}x: {'met' if met else 'NOT met'}")
    sys.exit(1 if outside or not met else 0)


if __name__ == "__main__":
    main()
