"""The probe verdicts from per-example results: series built to pass and to fail each test, with p-values
worked out by hand (McNemar: a tail of Binomial(b + c, 1/2); Spearman: a count of orderings)."""

from types import SimpleNamespace

import pytest

from deepgen_cli.engine.probe.findings import (first_last_finding, findings, monotone_finding,
                                               random_features_finding, trend_finding)
from deepgen_cli.engine.stats import pack_outcomes

N = 100  # test examples


def row(layer: str, wrong: set[int], kind: str = "conv", snapshot: str = "epoch 2") -> dict:
    """A row whose probe gets exactly the examples in `wrong` wrong."""
    right = [i not in wrong for i in range(N)]
    return dict(layer=layer, kind=kind, snapshot=snapshot, test_error=len(wrong) / N, train_error=0.0,
                test_correct={"examples": N, "hex": pack_outcomes(right)})


def nested(*counts: int) -> list[set[int]]:
    """Mistake sets where each layer's are the first k examples: a layer with fewer mistakes gets right every
    example the one before it did, so between two layers b = 0 and c is the difference."""
    return [set(range(k)) for k in counts]


def test_trend_passes_on_a_falling_series_and_fails_on_a_shuffled_one():
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(30, 25, 20, 15, 10, 5))]
    f, test = trend_finding(rows, 0.05, "epoch 2")
    # rho = -1; 2 of the 6! = 720 orderings are as extreme
    assert f.reproduced and test["rho"] == pytest.approx(-1) and test["p"] == pytest.approx(2 / 720)
    assert "rho = -1.00, two-sided permutation p = 0.00278 (exact: all 720 orderings)" in f.measured
    rows = [row(f"l{i}", s) for i, s in enumerate(nested(20, 30, 5, 25, 10, 15))]
    f, test = trend_finding(rows, 0.05, "epoch 2")
    # ranks 4 6 1 5 2 3 against 1..6: sum d^2 = 48, rho = 1 - 6 * 48 / 210; 358 of 720 orderings as extreme
    assert not f.reproduced and test["rho"] == pytest.approx(1 - 288 / 210) and test["p"] == pytest.approx(358 / 720)


def test_first_vs_last_is_a_paired_test_on_the_same_examples():
    rows = [row("input", set(range(20))), row("mid", set(range(10))), row("fc", set(range(5)))]
    f, test = first_last_finding(rows, 0.05, "epoch 2")
    # fc gets right 15 examples the input got wrong and loses none: p = 2 / 2^15
    assert (test["b"], test["c"], test["p"]) == (0, 15, pytest.approx(2 / 2 ** 15)) and f.reproduced
    assert "McNemar exact two-sided p = 6.1e-05 (b = 0 examples only input gets right, c = 15 only fc)" in f.measured
    # The same two error rates, 20% and 14%, but from different examples: 14 lost, 20 gained, p = 0.39
    rows[-1] = row("fc", set(range(6)) | set(range(30, 38)))
    f, test = first_last_finding(rows, 0.05, "epoch 2")
    assert (test["b"], test["c"]) == (8, 14) and test["p"] == pytest.approx(0.2863, abs=1e-4) and not f.reproduced


def test_monotone_fails_on_a_significant_rise_and_names_it():
    rows = [row(name, s) for name, s in zip("abcd", nested(30, 20, 20, 10))]
    rows[2] = row("c", set(range(30)))  # c gets 10 examples wrong that b got right: p = 2 / 2^10
    f, tests = monotone_finding(rows, 0.05, "epoch 2")
    rise = tests[1]
    assert (rise["first"], rise["second"], rise["b"], rise["c"]) == ("b", "c", 10, 0)
    # Holm, 3 pairs: c -> d (p = 2 / 2^20) is the smallest (x 3), a -> b and this rise tie at 2 / 2^10 (x 2)
    assert rise["p"] == pytest.approx(2 / 1024) and rise["p_holm"] == pytest.approx(2 * 2 / 1024)
    assert not f.reproduced and "1 significant rises: c (0.200 -> 0.300, b = 10, c = 0" in f.measured
    # A rise of 3 examples (p = 0.25) is not significant: monotone holds, and the text shows the rise
    rows[2] = row("c", set(range(23)))
    f, _ = monotone_finding(rows, 0.05, "epoch 2")
    assert f.reproduced and "no significant rise; largest of 1 rises: c (0.200 -> 0.230, b = 3, c = 0" in f.measured


def test_random_features_are_holm_corrected_over_the_hidden_layers():
    base = row("input", set(range(20)), kind="input", snapshot="untrained")
    # 6 examples gained, none lost: p = 2 / 64 = 0.031 alone, but 3 layers were looked at: Holm p = 0.094
    hidden = [row("a", set(range(14)), snapshot="untrained"), row("b", set(range(20)), snapshot="untrained"),
              row("c", set(range(25)), snapshot="untrained")]
    f, tests = random_features_finding([base] + hidden, 0.05)
    assert tests[0]["p"] == pytest.approx(2 / 64) and tests[0]["p_holm"] == pytest.approx(3 * 2 / 64)
    assert not f.reproduced and "none significantly lower; best a (0.200 -> 0.140" in f.measured
    f, _ = random_features_finding([base, hidden[0]], 0.05)  # one comparison: no correction needed
    assert f.reproduced and "1 significantly lower: a (0.200 -> 0.140, b = 0, c = 6, p = 0.0312, Holm p = 0.0312)" \
        in f.measured
    hidden[1] = row("b", set(range(10)), snapshot="untrained")  # 10 gained: p = 0.00195, Holm 0.0059
    f, _ = random_features_finding([base] + hidden, 0.05)
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
