"""The probe verdicts from per-example results: series built to pass and to fail each test, with p-values
worked out by hand (McNemar: a tail of Binomial(b + c, 1/2); Spearman: a count of orderings)."""

import math
from types import SimpleNamespace

import pytest

from deepgen_cli.engine.probe.findings import (first_last_finding, findings, monotone_finding,
                                               random_features_finding, trend_finding)
from deepgen_cli.engine import stats
from deepgen_cli.engine.stats import pack_outcomes

N = 100  # test examples


def row(layer: str, wrong: set[int], kind: str = "conv", snapshot: str = "epoch 2", seed: int = 0,
        converged: bool = True, accuracy: float | None = 0.9) -> dict:
    """A row whose (converged) probe gets exactly the examples in `wrong` wrong, of a network with that accuracy."""
    right = [i not in wrong for i in range(N)]
    return dict(layer=layer, kind=kind, snapshot=snapshot, test_error=len(wrong) / N, train_error=0.0,
                test_correct={"examples": N, "hex": pack_outcomes(right)}, seed=seed, probe_converged=converged,
                model_test_accuracy=accuracy)


def nested(*counts: int) -> list[set[int]]:
    """Mistake sets where each layer's are the first k examples: a layer with fewer mistakes gets right every
    example the one before it did, so between two layers b = 0 and c is the difference."""
    return [set(range(k)) for k in counts]


def test_trend_passes_on_a_falling_series_and_fails_on_a_shuffled_one():
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    f, test = trend_finding([rows], 0.05, "epoch 2")
    # rho = -1; 2 of the 6! = 720 orderings are as extreme
    assert f.reproduced and test["rho"] == pytest.approx(-1) and test["p"] == pytest.approx(2 / 720)
    assert "rho = -1.00, two-sided permutation p = 0.00278 (exact: all 720 orderings)" in f.measured
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(20, 30, 5, 25, 10, 15))]
    f, test = trend_finding([rows], 0.05, "epoch 2")
    # ranks 4 6 1 5 2 3 against 1..6: sum d^2 = 48, rho = 1 - 6 * 48 / 210; 358 of 720 orderings as extreme
    assert not f.reproduced and test["rho"] == pytest.approx(1 - 288 / 210) and test["p"] == pytest.approx(358 / 720)


def test_first_vs_last_is_a_paired_test_on_the_same_examples():
    rows = [row("input", set(range(20))), row("mid", set(range(10))), row("fc", set(range(5)))]
    f, test = first_last_finding([rows], 0.05, "epoch 2")
    # fc gets right 15 examples the input got wrong and loses none: p = 2 / 2^15
    assert (test["b"], test["c"], test["p"]) == (0, 15, pytest.approx(2 / 2 ** 15)) and f.reproduced
    assert "McNemar exact two-sided p = 6.1e-05 (b = 0 examples only input gets right, c = 15 only fc)" in f.measured
    # The same two error rates, 20% and 14%, but from different examples: 14 lost, 20 gained, p = 0.39
    rows[-1] = row("fc", set(range(6)) | set(range(30, 38)))
    f, test = first_last_finding([rows], 0.05, "epoch 2")
    assert (test["b"], test["c"]) == (8, 14) and test["p"] == pytest.approx(0.2863, abs=1e-4) and not f.reproduced


def test_monotone_is_judged_against_its_margin_yes_no_and_cannot_tell():
    rows = [row(name, s) for name, s in zip("abcd", nested(30, 20, 20, 10))]
    f, tests = monotone_finding([rows], 0.05, "epoch 2")
    # a -> b: b = 0, c = 10: rise -10 points, SE sqrt(10 - 100 / 100) / 100 = 3 points, upper -10 + 1.645 * 3 = -5.1;
    # b -> c: the same examples, no rise and no spread: upper 0 < 1 point. Every pair below the margin: yes.
    assert f.reproduced is True and tests[0]["upper"] == pytest.approx(-0.1 + 1.644854 * 0.03)
    assert "largest upper bound of a rise +0.0 points at c" in f.measured and "margin 1 point" in f.measured
    rows[2] = row("c", set(range(30)))  # c gets 10 examples wrong that b got right: a rise of 10 points
    f, tests = monotone_finding([rows], 0.05, "epoch 2")
    # lower bound, Bonferroni over 3 pairs: 0.10 - z(1 - 0.05 / 3) * 0.03 = 0.10 - 2.128 * 0.03 = 3.6 points > 1
    assert (tests[1]["b"], tests[1]["c"]) == (10, 0) and tests[1]["lower"] == pytest.approx(0.1 - 2.128045 * 0.03)
    assert f.reproduced is False and "1 rises beyond the margin: c (0.200 -> 0.300, b = 10, c = 0" in f.measured
    rows[2] = row("c", set(range(21)))  # a rise of 1 example: SE sqrt(1 - 0.01) / 100, upper 1 + 1.6 > 1, lower < 1
    f, tests = monotone_finding([rows], 0.05, "epoch 2")
    assert f.reproduced is None and "may or may not exceed the 1-point margin" in f.reason
    assert tests[1]["upper"] == pytest.approx(0.01 + 1.644854 * 0.0099499, abs=1e-6)


def test_seeds_are_pooled_by_summing_discordant_counts():
    # seed 0: fc gains 15, loses 0; seed 1: gains 14, loses 8 (the second case above): pooled b = 8, c = 29
    seed0 = [row("input", set(range(20))), row("mid", set(range(10))), row("fc", set(range(5)))]
    seed1 = [row("input", set(range(20)), seed=1), row("mid", set(range(10)), seed=1),
             row("fc", set(range(6)) | set(range(30, 38)), seed=1)]
    f, test = first_last_finding([seed0, seed1], 0.05, "epoch 2")
    p = 2 * sum(math.comb(37, i) for i in range(9)) / 2 ** 37  # 2 P(X <= 8), X ~ Binomial(37, 1/2)
    assert (test["b"], test["c"], test["seeds"]) == (8, 29, 2) and test["p"] == pytest.approx(p) and f.reproduced
    assert "2 seeds pooled" in f.measured and "on the same 200 example outcomes" in f.measured
    assert f.fragile is False  # p = 0.00078, far from 0.05
    f, _ = first_last_finding([seed0[:1] + [row("fc", set(range(20)) - set(range(6)))]], 0.05, "epoch 2")
    assert f.fragile is True and f.reproduced  # b = 0, c = 6: p = 2 / 64 = 0.031, within a factor 2 of 0.05


def test_the_pooled_trend_shuffles_each_seed_apart():
    falling = [row(f"l{i}", s) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    f, test = trend_finding([falling, falling], 0.05, "epoch 2")
    # mean rho -1 needs both shuffles at rho = +-1 together: 2 / 720^2, so none of 20,000 random orderings
    assert test["rho"] == pytest.approx(-1) and test["p"] == pytest.approx(1 / 20_001) and f.reproduced
    rising = list(reversed([dict(r) for r in falling]))
    t = stats.pooled_spearman_trend([[r["test_error"] for r in falling], [r["test_error"] for r in rising]])
    assert t.rho == pytest.approx(0) and t.p == 1.0  # +1 and -1 cancel: every ordering is as extreme


def test_random_features_are_holm_corrected_over_the_hidden_layers():
    base = row("input", set(range(20)), kind="input", snapshot="untrained")
    # 6 examples gained, none lost: p = 2 / 64 = 0.031 alone, but 3 layers were looked at: Holm p = 0.094
    hidden = [row("a", set(range(14)), snapshot="untrained"), row("b", set(range(20)), snapshot="untrained"),
              row("c", set(range(25)), snapshot="untrained")]
    f, tests = random_features_finding([[base] + hidden], 0.05)
    assert tests[0]["p"] == pytest.approx(2 / 64) and tests[0]["p_holm"] == pytest.approx(3 * 2 / 64)
    assert not f.reproduced and "none significantly lower; best a (0.200 -> 0.140" in f.measured
    f, _ = random_features_finding([[base, hidden[0]]], 0.05)  # one comparison: no correction needed
    assert f.reproduced and "1 significantly lower: a (0.200 -> 0.140, b = 0, c = 6, p = 0.0312, Holm p = 0.0312)" \
        in f.measured
    hidden[1] = row("b", set(range(10)), snapshot="untrained")  # 10 gained: p = 0.00195, Holm 0.0059
    f, _ = random_features_finding([[base] + hidden], 0.05)
    assert f.reproduced and f.measured.endswith("1 significantly lower: b (0.200 -> 0.100, b = 0, c = 10, "
                                                "p = 0.00195, Holm p = 0.00586)")


def test_a_trained_run_gets_three_verdicts_and_keeps_every_test_in_the_analysis():
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    config = SimpleNamespace(untrained=False, alpha=0.05, cka_examples=128, control=True)
    result = findings(rows, config, [], N, classes=10)
    assert [f.reproduced for f in result.findings] == [True, True, True]
    assert [t["family"] for t in result.analysis["tests"][1:]] == ["first-last"] + ["adjacent"] * 5
    assert result.analysis["cka_examples"] == 100 and "on the first 100 test examples" in result.notes[-1]
    rows[-1] = row("l5", set(range(40)))  # the last layer now loses 30 examples: every verdict turns
    result = findings(rows, config, [], N, classes=10)
    assert [f.reproduced for f in result.findings] == [False, False, False]


def test_a_probe_that_did_not_converge_or_a_network_that_did_not_train_gives_cannot_tell():
    config = SimpleNamespace(untrained=False, alpha=0.05, cka_examples=0, control=True)
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    rows[2]["probe_converged"] = False
    result = findings(rows, config, [], N, classes=10)
    assert [f.reproduced for f in result.findings] == [None, None, None]
    assert "the probes at l2 (seed 0) did not reach their optimum" in result.findings[0].reason
    rows = [row(f"l{i}", s, accuracy=0.54) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    result = findings(rows, config, [], N, classes=10)  # floor 0.1 + 0.9 / 2 = 55%: 54% is below it
    assert [f.reproduced for f in result.findings] == [None, None, None]
    assert "below the 55% floor (halfway from chance to perfect) at seed 0: 54.0%" in result.findings[1].reason
    rows = [row(f"l{i}", s, accuracy=0.55) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    assert [f.reproduced for f in findings(rows, config, [], N, classes=10).findings] == [True, True, True]


def test_rows_without_per_example_results_get_no_verdict_but_a_note():
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 20, 10))]
    rows[1]["test_correct"] = None  # a row an earlier deepgen wrote, reused by --resume
    config = SimpleNamespace(untrained=False, alpha=0.05, cka_examples=0, control=True)
    result = findings(rows, config, [], N)
    assert result.findings == [] and "no per-example test results for l1" in result.notes[0]


def test_cka_off_for_lack_of_test_examples_is_said_in_a_note():
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 20, 10))]
    config = SimpleNamespace(untrained=False, alpha=0.05, cka_examples=128, control=True)
    result = findings(rows, config, [], 3)  # 3 test examples: the unbiased estimator divides by n - 3
    assert result.analysis["cka_examples"] == 0
    assert result.notes[-1] == "CKA prev: none: the test set has 3 examples and the unbiased estimator needs 4"
