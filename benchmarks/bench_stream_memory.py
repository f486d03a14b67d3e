"""Peak memory of `memorize` on CIFAR-10 files at --image-size 224 streamed (--data-in-memory no), for two
dataset sizes: the peak should not grow with the dataset beyond its native uint8 images (3,072 bytes each),
where the in-memory path holds 602,112 bytes per image at 224 (float32), three copies while loading.

Writes synthetic CIFAR-10-format files (random uint8 images) of each size to a temporary folder and trains one
epoch of a tiny model (average pooling to 4x4, then linear: the data path is what is measured) in a fresh
process per size; prints that process's peak RSS. With --workers 0 (the default) the whole data path (reading,
resizing, standardizing, the statistics and evaluation passes) runs in that process. With workers, their own
peaks are not comparable: a forked worker's RSS counts every page it shares with its parent.
Run: python benchmarks/bench_stream_memory.py [--sizes 1000,8000] [--workers 0] [--in-memory-too]
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEST_EXAMPLES = 500
MIB = 2 ** 20


def write_cifar(root: Path, n: int) -> None:
    """n training images over the five data_batch files and TEST_EXAMPLES test images, uint8, seeded."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(n)
    sizes = [n // 5 + (i < n % 5) for i in range(5)]
    for i, size in enumerate(sizes, 1):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (size, 3072), dtype=np.uint8),
                         b"labels": [int(v) for v in rng.integers(0, 10, size)]}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": rng.integers(0, 256, (TEST_EXAMPLES, 3072), dtype=np.uint8),
                     b"labels": [int(v) for v in rng.integers(0, 10, TEST_EXAMPLES)]}, f)


def child(data_dir: str, workers: int, in_memory: str) -> None:
    """One memorize run in this process; prints its peak RSS as JSON."""
    import torch
    from torch import nn

    from deepgen_cli.cli.app import app
    from deepgen_cli.engine.registry import register

    @register("bench-pool", description="average pooling to 4x4, then linear (benchmark only)", resolution=224,
              tags=("trainable",))
    def bench_pool(in_channels: int = 3, num_classes: int = 10):
        return nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * in_channels, num_classes))

    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        app(["memorize", "--dataset", "cifar10", "--data-dir", data_dir, "--image-size", "224", "--model", "bench-pool",
             "--noise", "1", "--epochs", "1", "--no-until-fit", "--batch-size", "128", "--data-in-memory", in_memory,
             "--workers", str(workers), "--quiet", "--format", "csv"], prog_name="deepgen", standalone_mode=False)
    except SystemExit as done:
        if done.code:
            raise
    main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"main": main, "seconds": time.perf_counter() - start}))


def measure(n: int, workers: int, in_memory: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        write_cifar(Path(tmp), n)
        out = subprocess.run([sys.executable, __file__, "--child", tmp, "--workers", str(workers),
                              "--mode", in_memory], cwd=ROOT, capture_output=True, text=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    if out.returncode:
        raise SystemExit(f"n={n}: the run failed: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,8000", help="training examples, comma-separated")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--in-memory-too", action="store_true", help="also the in-memory path (3 copies of 602 KB each)")
    p.add_argument("--child")
    p.add_argument("--mode", default="no")
    args = p.parse_args()
    if args.child:
        return child(args.child, args.workers, args.mode)
    modes = ["no", "yes"] if args.in_memory_too else ["no"]
    print(f"memorize, CIFAR-10 format at --image-size 224, 1 epoch, {args.workers} worker(s), "
          f"{TEST_EXAMPLES} test images")
    for mode in modes:
        for n in (int(s) for s in args.sizes.split(",")):
            r = measure(n, args.workers, mode)
            final = (n + TEST_EXAMPLES) * 3 * 224 * 224 * 4
            print(f"--data-in-memory {mode:>3}  {n:>6,} train images: peak RSS {r['main'] / MIB:6.0f} MiB; the set "
                  f"at 224 is {final / MIB:6.0f} MiB, {n * 3072 / MIB:5.1f} MiB as stored ({r['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
