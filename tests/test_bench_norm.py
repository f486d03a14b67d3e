"""bench_norm.py's statistics and verdicts, and the line gpu_check.py makes of its output (run on the CPU here)."""

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from deepgen_cli.engine.stats import median_interval

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_median_interval_order_statistics_by_hand():
    # n = 6: P(X = 0) = 1/64 <= 0.025 < P(X <= 1) = 7/64, so k = 1: the smallest and the largest (coverage 31/32)
    assert median_interval([5, 1, 4, 2, 6, 3]) == (1, 6)
    assert median_interval([1, 2, 3, 4, 5]) == (-math.inf, math.inf)  # 1/32 > 0.025: no pair covers 95%
    # n = 21: P(X <= 5) = 0.0133 <= 0.025 < P(X <= 6) = 0.0392: the 6th and 16th smallest
    assert median_interval(list(range(1, 22))) == (6, 16)


def test_verdict_reads_the_interval_against_the_goal():
    bench = _load("bench_norm")
    assert bench.verdict([1.0, 1.1, 1.2, 1.2, 1.25, 1.29], 1.3)[1] == "met"  # upper end 1.29 <= 1.3
    assert bench.verdict([1.31, 1.4, 1.5, 1.5, 1.6, 1.7], 1.3)[1] == "not met"  # lower end 1.31 > 1.3
    assert bench.verdict([1.1, 1.2, 1.25, 1.35, 1.4, 1.5], 1.3)[1] == "not resolved"
    assert bench.verdict([1.0, 1.1], 1.3)[1].startswith("not resolved")  # too few blocks for an interval


@pytest.mark.slow
def test_bench_norm_prints_every_ratio_and_gpu_check_reads_them():
    run = subprocess.run([sys.executable, "benchmarks/bench_norm.py", "--blocks", "6", "--steps", "2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert run.returncode == 0, run.stderr
    summary = _load("gpu_check").norm_ratios(run.stdout)
    parts = summary.split("; ")
    assert [" ".join(p.split()[:3]) for p in parts] == [
        "renorm/ghost BN, m2", "renorm/ghost BN, m4", "renorm/ghost BN, m32", "ghost BN/BN, m2", "ghost BN/BN, m4"]
    assert all(0.5 < float(p.split()[3]) < 5 for p in parts)  # medians of ratios of CPU times
    assert all(p.endswith(("(met)", "(not met)", "(not resolved)")) for p in parts)
    names = [name for name, *_ in _load("gpu_check").paths("cuda")]
    assert "bench_norm renorm mlp-bn" in names and "probe cnn alongside" in names
