"""benchmarks/bench_probe.py judges the overhead goal only where the timings resolve it."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("bench_probe", Path(__file__).parents[1] / "benchmarks" / "bench_probe.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_the_goal_is_judged_by_the_interval_of_the_median_pair():
    plain = [1.0] * 7
    # pairs add 0.10..0.16: median 0.13; with 7 pairs the 95% interval of the median is the 1st and 7th value
    # (P(Binomial(7, 1/2) = 0) = 1/128 <= 0.025): 0.10-0.16, all under the goal 0.15 + 0.10
    added, (lo, hi), verdict = bench.goal_verdict(plain, [1.10, 1.11, 1.12, 1.13, 1.14, 1.15, 1.16], 0.15)
    assert added == pytest.approx(0.13) and (lo, hi) == (pytest.approx(0.10), pytest.approx(0.16))
    assert verdict == "met"
    assert bench.goal_verdict(plain, [1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36], 0.15)[2] == "not met"  # 0.30 > 0.25
    assert bench.goal_verdict(plain, [1.10, 1.11, 1.12, 1.13, 1.14, 1.15, 1.40], 0.15)[2] == "not resolved"  # to 0.40
    # fewer than 6 pairs give no 95% interval of the median: never a verdict
    assert bench.goal_verdict([1.0] * 5, [1.1] * 5, 0.15)[2] == "not resolved"


def test_gpu_check_reads_the_overhead_lines():
    spec = importlib.util.spec_from_file_location("gpu_check", Path(__file__).parents[1] / "benchmarks" / "gpu_check.py")
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    text = ("training cnn on digits (1347 x 1x8x8), 3 epochs, 1 thread(s), CPU time, 9 interleaved pairs\n"
            "  probes add 0.184 of the training time (median of pairs, 95% CI 0.098 to 0.455) | arithmetic floor "
            "0.147 (probe Mult-Adds per example / the model's training Mult-Adds) | goal <= floor + 0.10 = 0.247: "
            "not resolved (+0.036 above the floor)\n")
    assert gpu.probe_overhead(text) == "probes add 0.184 (not resolved)"
    with pytest.raises(ValueError):
        gpu.probe_overhead("nothing here")
