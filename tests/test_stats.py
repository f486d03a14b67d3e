"""The verdicts' statistics against values worked out by hand (binomial sums over 2^n outcomes)."""

import math

import pytest

from deepgen_cli.engine import stats


def test_binomial_sds():
    assert stats.binomial_sd(0.1, 100) == pytest.approx(0.03)  # sqrt(0.09 / 100)
    assert stats.difference_sd(0.1, 0.1, 100) == pytest.approx(math.sqrt(0.0018))


def test_mcnemar_is_the_exact_binomial_tail_of_the_discordant_pairs():
    # 12 discordant examples, 2 one way: P(X <= 2) = (1 + 12 + 66) / 4096, doubled
    assert stats.mcnemar(10, 2) == pytest.approx(0.038574, abs=1e-6)
    assert stats.mcnemar(2, 10) == stats.mcnemar(10, 2)
    assert stats.mcnemar(10, 2, mid_p=True) == pytest.approx((2 * 13 + 66) / 4096)
    assert stats.mcnemar(5, 0) == pytest.approx(2 / 32)  # the smallest p with 5 discordant pairs
    assert stats.mcnemar(3, 3) == 1.0 and stats.mcnemar(0, 0) == 1.0
    # n in the thousands: 2^-n underflows a float, the exact integers do not
    assert 0 < stats.mcnemar(1500, 1000) < 1e-20


def test_paired_counts_and_the_paired_interval():
    first = [True, True, False, False, True]
    second = [True, False, True, False, False]
    assert stats.paired_counts(first, second) == (2, 1)  # examples 1 and 4 lost, example 2 gained
    # b = 10, c = 2, n = 100: d = 0.08, SE = sqrt(12 - 0.64) / 100 = 0.033705
    lo, hi = stats.paired_difference_interval(10, 2, 100)
    assert lo == pytest.approx(0.01394, abs=1e-5) and hi == pytest.approx(0.14606, abs=1e-5)  # 0.08 -+ 1.96 SE


def test_holm_multiplies_the_sorted_p_values_by_the_comparisons_left():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.01]) == pytest.approx([0.5, 0.02])
    assert stats.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]) == []


def test_ranks_share_ties():
    assert stats.ranks([0.3, 0.1, 0.3]) == [2.5, 1.0, 2.5]
    assert stats.ranks([3, 1, 2]) == [3.0, 1.0, 2.0]


def test_spearman_trend_p_values_count_orderings_exactly():
    depth = list(range(5))
    t = stats.spearman_trend(depth, [0.5, 0.4, 0.3, 0.2, 0.1])
    # 2 of the 5! = 120 orderings reach |rho| = 1 (the observed and its reverse)
    assert t.rho == pytest.approx(-1.0) and t.p == pytest.approx(2 / 120) and t.exact and t.orderings == 120
    assert stats.spearman_trend(range(3), [3, 2, 1]).p == pytest.approx(1 / 3)
    # ties: ranks (2.5, 2.5, 1) against (1, 2, 3): rho = -1.5 / sqrt(2 * 1.5); 4 of 6 orderings as extreme
    t = stats.spearman_trend(range(3), [0.1, 0.1, 0.05])
    assert t.rho == pytest.approx(-0.866025, abs=1e-6) and t.p == pytest.approx(2 / 3)
    assert math.isnan(stats.spearman_trend(range(4), [0.1] * 4).rho)


def test_spearman_trend_beyond_the_exact_limit_samples_orderings():
    errors = [0.3 - 0.01 * i for i in range(20)]
    t = stats.spearman_trend(range(20), errors, permutations=2000, seed=1)
    assert not t.exact and t.rho == pytest.approx(-1.0)
    assert t.p == pytest.approx(1 / 2001)  # no random ordering of 20 reaches |rho| = 1: (0 + 1) / (N + 1)
    swapped = errors[:]
    swapped[0], swapped[19] = swapped[19], swapped[0]  # first and last swapped: 2 rank gaps of 19
    t = stats.spearman_trend(range(20), swapped, permutations=2000, seed=1)
    assert t.rho == pytest.approx(-(1 - 6 * 2 * 19 ** 2 / (20 * 399)))  # -0.457
    # the t approximation (scipy.stats.spearmanr) gives p = 0.0427; 2000 orderings know p to +-0.005 (1 SD)
    assert t.p == pytest.approx(0.0427, abs=0.015)


def test_outcomes_pack_eight_examples_a_byte():
    bits = [True, False, False, False, False, False, False, False, True, True]
    assert stats.pack_outcomes(bits) == "0103"
    assert stats.unpack_outcomes("0103", 10) == bits


def test_one_sided_bounds_noninferiority_and_tost_by_hand():
    # diffs 0.01, 0.02, 0.015: mean 0.015, sd 0.005; one-sided t(2) = 2.920, half = 2.920 * 0.005 / sqrt(3)
    p = stats.paired_seeds({0: 0.01, 1: 0.02, 2: 0.015}, {0: 0.0, 1: 0.0, 2: 0.0})
    lo, hi = stats.one_sided_bounds(p)
    assert round(lo, 6) == 0.006571 and round(hi, 6) == 0.023429
    assert stats.noninferior(p, 0.05) is True  # upper bound 0.023 < 0.05
    assert stats.noninferior(p, 0.005) is False  # lower bound 0.0066 > 0.005: harm beyond the margin shown
    assert stats.noninferior(p, 0.01) is None  # the interval straddles the margin
    assert stats.equivalent(p, 0.03) is True
    assert stats.equivalent(p, 0.005) is False
    assert stats.equivalent(p, 0.01) is None
    one = stats.paired_seeds({0: 0.0}, {0: 0.0})
    assert stats.noninferior(one, 1.0) is None  # one seed: no spread, cannot tell


def test_fragile_rules():
    assert stats.fragile_p(0.0485) and stats.fragile_p(0.0609)  # the probe trend on two CPUs
    assert not stats.fragile_p(0.001) and not stats.fragile_p(0.2)
    assert stats.fragile_bound(0.011, 0.01, 0.002) and not stats.fragile_bound(0.02, 0.01, 0.002)


def test_median_interval_is_the_sign_tests_order_statistics():
    from deepgen_cli.engine.stats import median_interval

    # 15 values: P(B <= 3) = 576 / 2^15 = 0.018 <= 0.025 < P(B <= 4) = 0.059, so the 4th and 12th smallest
    assert median_interval([15 - i for i in range(15)]) == (4, 12)
    # 6 values: P(B = 0) = 1/64 = 0.016: the extremes; 5 values: 1/32 > 0.025, no interval reaches 95%
    assert median_interval([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]) == (1.0, 6.0)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) == (-math.inf, math.inf)
