"""Start-up time of the CLI against `python -c pass`, measured in one run (issue 25).

Times `deepgen --help`, a command's `deepgen memorize --help` (its options built from its config) and
`deepgen report RECORD` (a record's table: read, checked, rendered) as whole processes, against the bare
interpreter's start-up, interleaved (pass, help, memorize --help, report, pass, ...) so that load on a shared
machine falls on all alike. Each figure is the median over the repeats of the child's CPU time
(user + system, from wait4) and of its wall time, with the median's distribution-free 95% interval
(stats.median_interval); the verdict reads the CPU interval: met (upper end under the goal), not met (lower end
over it), else not resolved. Prints each command's ratio to `python -c pass` and its absolute
median against the goals: either --help under 0.3 s and report under 0.5 s.
Run: python benchmarks/bench_startup.py [--repeats 15] [--record docs/records/quickstart.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from deepgen_cli.engine.stats import median_interval

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"help": 0.3, "memorize --help": 0.3, "report": 0.5}  # seconds of CPU on this machine (issue 25)


def timed(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `argv`, its output discarded."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_startup: {' '.join(argv)} failed")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--record", default=str(ROOT / "docs" / "records" / "quickstart.json"))
    args = parser.parse_args()
    deepgen = [sys.executable, "-m", "deepgen_cli"]
    commands = {"pass": [sys.executable, "-c", "pass"], "help": [*deepgen, "--help"],
                "memorize --help": [*deepgen, "memorize", "--help"], "report": [*deepgen, "report", args.record]}
    for argv in commands.values():  # one untimed run each: the file cache warm for all
        timed(argv)
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    wall: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.repeats):
        for name, argv in commands.items():
            c, w = timed(argv)
            cpu[name].append(c)
            wall[name].append(w)
    base_cpu, base_wall = statistics.median(cpu["pass"]), statistics.median(wall["pass"])
    print(f"python -c pass: {base_cpu:.3f} s CPU, {base_wall:.3f} s wall (median of {args.repeats})")
    for name in GOALS:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        lo, hi = median_interval(cpu[name])  # CPU time: load on shared cores stretches wall time, not this
        verdict = "met" if hi < GOALS[name] else "not met" if lo >= GOALS[name] else "not resolved"
        print(f"deepgen {name}: {c:.3f} s CPU [{lo:.3f}-{hi:.3f}] ({c / base_cpu:.1f}x python -c pass), "
              f"{w:.3f} s wall ({w / base_wall:.1f}x); goal under {GOALS[name]} s of CPU: {verdict}")


if __name__ == "__main__":
    main()
