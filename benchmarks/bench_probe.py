"""What probes cost: training time with probes alongside against the same training without them (goal: probes
add at most their arithmetic floor, probe Mult-Adds over the model's training Mult-Adds, plus 0.10), the time of
one snapshot's converged control fits, and the peak memory of a post-hoc probe run on a big model against the
naive estimate.

Run: python benchmarks/bench_probe.py [--model cnn] [--epochs 3] [--big resnet18] [--side 224]
     python benchmarks/bench_probe.py --full-strength --threads 2
Both references come from this run: plain `train.train` on the same model, data and seed; and the memory
a naive prober would need (a full probe on every layer plus every layer's activations of one batch).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import statistics
import sys
import time

import torch

from deepgen_cli.engine import train
from deepgen_cli.engine.data import DataConfig, load
from deepgen_cli.engine.probe import ProbeConfig, build_model, layer_plan, make_row, run_posthoc
from deepgen_cli.engine.probe.inputs import feed
from deepgen_cli.engine.probe.reduce import MB, probe_bytes
from deepgen_cli.engine.probe.alongside import train_config, train_with_probes
from deepgen_cli.engine.probe.control import fit_controls
from deepgen_cli.engine.stats import median_interval


class Quiet:
    def row(self, row):
        pass

    def progress(self, message):
        pass

    def log(self, message):
        pass

    def resumed(self, **key):
        return None


def fed_model(config: ProbeConfig, data):
    from deepgen_cli.engine import models

    # an RGB stem gets the gray channel three times, as `deepgen probe` feeds it
    channels = 3 if data.in_channels == 1 and models.entry(config.model).in_channels == 3 else data.in_channels
    model = build_model(config, channels, data.image_size, data.num_classes)
    return feed(model, data, data.image_size, channels)


DEVICE = "cpu"  # --device


def _clock() -> float:
    if DEVICE == "cpu":
        return time.process_time()
    torch.cuda.synchronize()
    return time.perf_counter()


def training_seconds(config: ProbeConfig, data, with_probes: bool) -> tuple[float, object, list]:
    """Seconds of one training run: CPU time on the CPU (time.process_time: other processes on shared cores do
    not add to it; the run is on 1 thread by default, so CPU time is its time), wall time synchronised on a GPU."""
    fed = fed_model(config, data)
    probed, _ = layer_plan(fed, data, config, DEVICE)  # layer discovery is not training: untimed
    start = _clock()
    if with_probes:
        train_with_probes(fed, data, probed, config, DEVICE, Quiet(), make_row)
    else:
        train.train(fed, data, train_config(config), DEVICE)  # fed: the same input map the probed run has
    return _clock() - start, fed, probed


GOAL_ABOVE_FLOOR = 0.10  # probes may cost at most their arithmetic floor plus 10% of the model's training time


def goal_verdict(plain: list[float], probed: list[float], floor: float) -> tuple[float, tuple[float, float], str]:
    """(added, interval, verdict) from interleaved pairs of timings: each pair's probed / plain - 1, their median
    and its distribution-free 95% interval (stats.median_interval; 6 or more pairs). The goal is met when the
    interval's upper end is at most floor + 0.10, not met when its lower end is above, else not resolved."""
    added = [b / a - 1 for a, b in zip(plain, probed)]
    lo, hi = median_interval(added)
    goal = floor + GOAL_ABOVE_FLOOR
    word = "met" if hi <= goal else "not met" if lo > goal else "not resolved"
    return statistics.median(added), (lo, hi), word


def overhead(model: str, data_config: DataConfig, epochs: int, repeats: int, **options) -> None:
    data = load(data_config)
    config = ProbeConfig(model=model, dataset=data_config.dataset, epochs=epochs, snapshots=(), cka_examples=0,
                         **options)
    training_seconds(ProbeConfig(**{**dataclasses.asdict(config), "epochs": 1}), data, True)  # warm-up, untimed
    training_seconds(ProbeConfig(**{**dataclasses.asdict(config), "epochs": 1}), data, False)
    plain, probed = [], []
    for i in range(repeats):  # interleaved pairs, alternating which runs first, so drift hits both alike
        for with_probes in (i % 2 == 1, i % 2 == 0):
            seconds, fed, layers = training_seconds(config, data, with_probes)
            (probed if with_probes else plain).append(seconds)
    floor = arithmetic_floor(config, data)
    added, (lo, hi), verdict = goal_verdict(plain, probed, floor)
    shape = "x".join(str(s) for s in data.x_train.shape[1:])
    clock = "CPU time" if DEVICE == "cpu" else f"{DEVICE}, wall time"
    print(f"training {model} on {data_config.dataset} ({len(data.y_train)} x {shape}), {epochs} epochs, "
          f"{torch.get_num_threads()} thread(s), {clock}, {repeats} interleaved pairs")
    print(f"  without probes {statistics.median(plain):.2f} s (min-max {min(plain):.2f}-{max(plain):.2f}) | with "
          f"probes alongside {statistics.median(probed):.2f} s ({min(probed):.2f}-{max(probed):.2f})")
    print(f"  probes add {added:.3f} of the training time (median of pairs, 95% CI {lo:.3f} to {hi:.3f}) | "
          f"arithmetic floor {floor:.3f} (probe Mult-Adds per example / the model's training Mult-Adds) | goal <= "
          f"floor + {GOAL_ABOVE_FLOOR:.2f} = {floor + GOAL_ABOVE_FLOOR:.3f}: {verdict} ({added - floor:+.3f} above "
          f"the floor)")
    start = _clock()  # the trained model of the last run, frozen: what one snapshot adds
    fit_controls(fed, layers, data.x_train, data.y_train, classes=data.num_classes, seed=0,
                 batch_size=config.batch_size, budget_mb=config.max_probe_mb, total_mb=config.max_total_probe_mb,
                 device=DEVICE)
    print(f"  control probes fit to convergence at one snapshot (not in the times above): "
          f"{_clock() - start:.2f} s for {len(layers)} layers")


def arithmetic_floor(config: ProbeConfig, data) -> float:
    """What the probes must compute, as a fraction of the model's own training step: per example and layer,
    a forward (features x classes) and a gradient (the same again), against forward + backward of the model
    (about 3x the forward's Mult-Adds)."""
    from deepgen_cli.engine.measure import mult_adds

    fed = fed_model(config, data)
    probed, _ = layer_plan(fed, data, config, "cpu")  # shapes and Mult-Adds only
    features = sum(p.reduction.out_features for p in probed)
    model = mult_adds(fed.model.eval(), fed.inputs(data.x_train[:1])).total
    return 2 * features * data.num_classes / (3 * model)


def big_data(args) -> DataConfig:
    return DataConfig(dataset="synthetic", synthetic_shape=(3, args.side, args.side), synthetic_classes=1000,
                      synthetic_examples=(args.images, args.images))


def child(args) -> None:
    """Run in a fresh process so ru_maxrss is this probe run's peak alone."""
    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = load(big_data(args))
    config = ProbeConfig(model=args.big, untrained=True, batch_size=args.batch, probe_epochs=1, cka_examples=8)
    fed = fed_model(config, data)
    probed, _ = layer_plan(fed, data, config, "cpu")
    start = time.perf_counter()
    run_posthoc(fed, data, probed, config, "cpu", Quiet())
    print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "base_kib": base_kib,
                      "seconds": time.perf_counter() - start}))


def memory(args) -> None:
    with torch.device("meta"):  # shapes only: the naive estimate is computed, not allocated
        from deepgen_cli.engine import models

        model = models.create(args.big, num_classes=1000)
        from deepgen_cli.engine.probe.layers import discover

        layers, _ = discover(model, torch.empty(1, 3, args.side, args.side))
    full = [probe_bytes(int(torch.Size(layer.shape).numel()), 1000) for layer in layers]
    acts = sum(int(torch.Size(layer.shape).numel()) for layer in layers) * 4 * args.batch
    cmd = [sys.executable, __file__, "--child", "--big", args.big, "--side", str(args.side),
           "--images", str(args.images), "--batch", str(args.batch), "--threads", str(args.threads)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    peak, naive = out["peak_kib"] * 1024, sum(full) + acts
    print(f"post-hoc probes on untrained {args.big} at {args.side}x{args.side}, 1000 classes, {len(layers)} layers, "
          f"{args.images} images, batch {args.batch}, default budget (64 MiB per probe): {out['seconds']:.0f} s")
    print(f"  peak RSS {peak / MB:.0f} MiB (after imports {out['base_kib'] / 1024:.0f} MiB) | naive estimate "
          f"{naive / MB:.0f} MiB (full probes {sum(full) / MB:.0f}, activations {acts / MB:.0f}) | "
          f"naive / peak {naive / peak:.1f}x | within 4 GiB: {'yes' if peak <= 4 * 1024 * MB else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="cnn", help="model for the timing run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=9, help="interleaved pairs (6 or more for an interval)")
    parser.add_argument("--big", default="resnet18", help="model for the memory run (a torchvision classifier)")
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (probe's default is 1)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--device", default="cpu", help="device of the timing runs (cuda: wall time, synchronised)")
    parser.add_argument("--full-strength", action="store_true",
                        help="instead, time the README's full-strength run: resnet18 on digits at 32x32, batch 32, "
                        "one epoch (give --threads 2 as that run did)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = args.device
    if args.child:
        return child(args)
    if args.full_strength:  # digits resized once at load: the model sees 32x32 with no per-batch resize
        return overhead("resnet18", DataConfig(dataset="digits", image_size=32), 1, args.repeats, batch_size=32,
                        lr=0.02)
    overhead(args.model, DataConfig(dataset="digits"), args.epochs, args.repeats)
    overhead("alexnet-small", DataConfig(dataset="synthetic", synthetic_shape=(3, 28, 28), synthetic_examples=(1024, 256)), 1, args.repeats)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
