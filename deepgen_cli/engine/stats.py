"""Every verdict's statistics, stdlib only: means and seed spreads, paired differences over seeds with Student's t
intervals, binomial spreads, exact McNemar tests for two classifiers scored on the same examples, Holm's
correction for looking at several comparisons, and a rank-correlation trend test.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
from fractions import Fraction
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence


# --- means and spreads over seeds ---------------------------------------------------------------------------

def mean(values: Iterable[float]) -> float:
    v = list(values)
    return sum(v) / len(v)


def sd(values: Iterable[float]) -> float:
    """Sample standard deviation (n - 1); 0 for a single value."""
    v = list(values)
    if len(v) < 2:
        return 0.0
    m = mean(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def seed_differences(a: dict, b: dict) -> list[float]:
    """a[seed] - b[seed] for the seeds both have, in seed order."""
    return [a[s] - b[s] for s in sorted(a) if s in b]


# --- paired comparisons over seeds (the same seed: the same initial weights, data order and corruption) -----

# Two-sided 95% critical values of Student's t by degrees of freedom (any statistics table); between the listed
# ones the next smaller df's value is used, which is the wider (more cautious) interval.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


NEEDS_SEEDS = "needs --repeats 2 or more: a paired comparison over seeds has no spread with one seed"


def t95(df: int) -> float:
    return T95[max(k for k in T95 if k <= df)]


@dataclass
class Paired:
    """The per-seed differences a - b, their mean, SD and the half-width of the mean's 95% interval."""

    diffs: list[float]
    mean: float
    sd: float
    half_width: float  # t95(n - 1) * sd / sqrt(n); inf with one seed (no spread measured)

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def above_zero(self) -> bool:
        """a is larger than b beyond the spread: the whole 95% interval lies above zero."""
        return self.n >= 2 and self.mean - self.half_width > 0

    @property
    def below_zero(self) -> bool:
        return self.n >= 2 and self.mean + self.half_width < 0

    def text(self, scale: float = 100.0, unit: str = " points") -> str:
        """'+0.4 points ± 0.9 (95% interval, 3 seeds)'."""
        if self.n < 2:
            return f"{scale * self.mean:+.1f}{unit} (1 seed: no spread)"
        return f"{scale * self.mean:+.1f}{unit} ± {scale * self.half_width:.1f} (95% interval, {self.n} seeds)"


def paired_seeds(a: dict, b: dict) -> Paired | None:
    """Differences a[seed] - b[seed] over the seeds both have (values None are skipped); None without one."""
    diffs = [a[s] - b[s] for s in sorted(set(a) & set(b)) if a[s] is not None and b[s] is not None]
    return paired_values(diffs) if diffs else None


# --- equivalence and non-inferiority (three outcomes: True, False, None = cannot tell) -----------------------

# One-sided 95% critical values of Student's t (the two-sided 90% ones), for non-inferiority and for the two
# one-sided tests (TOST) of equivalence; between listed df the next smaller df's value (the wider interval).
T95_ONE_SIDED = {1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833,
                 10: 1.812, 12: 1.782, 15: 1.753, 20: 1.725, 30: 1.697, 60: 1.671, 120: 1.658}


def t95_one_sided(df: int) -> float:
    return T95_ONE_SIDED[max(k for k in T95_ONE_SIDED if k <= df)]


def one_sided_bounds(p: Paired) -> tuple[float, float]:
    """The mean difference's one-sided 95% lower and upper bounds (together, the two-sided 90% interval);
    (-inf, inf) with one seed."""
    if p.n < 2:
        return -math.inf, math.inf
    half = t95_one_sided(p.n - 1) * p.sd / math.sqrt(p.n)
    return p.mean - half, p.mean + half


def noninferior(p: Paired, margin: float) -> bool | None:
    """Is the harm a - b at most `margin` (a 'does not hurt' / 'no worse' claim), at 95%? True when the one-sided
    upper bound lies below the margin; False when the one-sided lower bound lies above it (harm beyond the margin
    shown); None when the interval straddles the margin: the run cannot tell."""
    lo, hi = one_sided_bounds(p)
    if hi < margin:
        return True
    if lo > margin:
        return False
    return None


def equivalent(p: Paired, margin: float) -> bool | None:
    """Two one-sided tests at 95%: True when the 90% interval of a - b lies inside (-margin, margin); False when it
    lies wholly outside (a difference beyond the margin shown); None otherwise (wider than the margin)."""
    lo, hi = one_sided_bounds(p)
    if -margin < lo and hi < margin:
        return True
    if lo > margin or hi < -margin:
        return False
    return None


# --- fragile verdicts ---------------------------------------------------------------------------------------
# One rule for every claim. A verdict is fragile when one more seed or another CPU could flip it:
# - a p-value within a factor of two of its level (alpha/2 <= p <= 2 alpha): the probe trend moved from
#   p = 0.0485 to 0.0609 between two CPUs at the same seed, a factor of 1.26;
# - an interval whose deciding bound lies within one standard error of the mean (sd / sqrt(n)) of the threshold:
#   a further seed moves the mean by about that much.

def fragile_p(p: float, alpha: float = 0.05) -> bool:
    return alpha / 2 <= p <= 2 * alpha


def standard_error(p: Paired) -> float:
    return p.sd / math.sqrt(p.n) if p.n > 1 else math.inf


def fragile_bound(bound: float, threshold: float, se: float) -> bool:
    """The interval's bound that decides the verdict lies within one standard error of the threshold."""
    return abs(bound - threshold) < se


# --- binomial spreads and paired tests on examples ----------------------------------------------------------

def binomial_sd(p: float, n: int) -> float:
    """Standard deviation of an error rate p measured on n independent examples."""
    return math.sqrt(p * (1 - p) / max(n, 1))


def difference_sd(p1: float, p2: float, n: int) -> float:
    """SD of the difference of two error rates measured on n examples each, *independently* (unpaired).
    Two probes scored on the same examples are paired: compare those with `mcnemar`."""
    return math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / max(n, 1))


def _binom_half_cdf(k: int, n: int) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (integers, so n in the thousands neither under- nor overflows)."""
    if k < 0:
        return Fraction(0)
    return Fraction(sum(math.comb(n, i) for i in range(min(k, n) + 1)), 1 << n)


def paired_counts(first: Iterable[bool], second: Iterable[bool]) -> tuple[int, int]:
    """(b, c) over examples both classifiers were scored on: b = first right and second wrong, c = first
    wrong and second right. The second's error minus the first's is (b - c) / n."""
    b = c = 0
    for x, y in zip(first, second, strict=True):
        b += x and not y
        c += y and not x
    return b, c


def mcnemar(b: int, c: int, mid_p: bool = False) -> float:
    """Exact two-sided McNemar p-value for discordant counts b and c: under "both classifiers are equally
    accurate" each of the b + c discordant examples is a fair coin, so p = 2 P(X <= min(b, c)), X ~ Bin(b + c,
    1/2), capped at 1. The mid-p variant counts the observed outcome half (less conservative). b = 10, c = 2:
    p = 2 * 79 / 4096 = 0.0386, mid-p = (2 * 13 + 66) / 4096 = 0.0225."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = _binom_half_cdf(k, n)
    if mid_p:
        tail -= Fraction(math.comb(n, k), 2 * (1 << n))
    return float(min(Fraction(1), 2 * tail))


def paired_difference_interval(b: int, c: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wald interval (95% at the default z) for the second classifier's error minus the first's, (b - c) / n,
    from paired counts on n examples: SE = sqrt(b + c - (b - c)^2 / n) / n (the paired-proportions formula)."""
    d = (b - c) / n
    se = math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    return d - z * se, d + z * se


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order: the i-th smallest of m is multiplied by
    m - i (i from 0), then made non-decreasing and capped at 1. Reject where adjusted <= alpha: the chance
    of any false rejection among the m stays <= alpha. [0.01, 0.04, 0.03] -> [0.03, 0.06, 0.06]."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank: [0.3, 0.1, 0.3] -> [2.5, 1, 2.5]."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


class Trend(NamedTuple):
    rho: float  # Spearman's rank correlation; nan when a series is constant
    p: float  # two-sided: the share of orderings of the second series with |rho| at least this large
    orderings: int  # orderings the p-value counted
    exact: bool  # every ordering (n <= EXACT_MAX), else that many seeded random ones


EXACT_MAX = 8  # 8! = 40,320 orderings, a fraction of a second; beyond that a seeded random sample
PERMUTATIONS = 20_000  # random orderings: p is then known to about +-0.003 at p = 0.05 (binomial SD)


def spearman_trend(x: Sequence[float], y: Sequence[float], permutations: int = PERMUTATIONS,
                   seed: int = 0) -> Trend:
    """Spearman's rank correlation of y with x and its permutation p-value (two-sided).

    Under "no trend" every ordering of y's ranks against x's is equally likely, ties included, so counting
    orderings with a correlation at least as extreme gives an exact p-value without a large-n approximation.
    Random orderings add the observed one to numerator and denominator ((k + 1) / (N + 1)), so p > 0.
    """
    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    cx = [r - mx for r in rx]
    cy = [r - my for r in ry]
    sxy = sum(a * b for a, b in zip(cx, cy))
    den = math.sqrt(sum(a * a for a in cx) * sum(b * b for b in cy))
    if n < 2 or den == 0:
        return Trend(float("nan"), 1.0, 0, True)
    # rho is sxy / den for every ordering (den depends only on the rank multisets): compare sums of products.
    bar = abs(sxy) * (1 - 1e-12)
    if n <= EXACT_MAX:
        hits = total = 0
        for perm in itertools.permutations(cy):
            total += 1
            hits += abs(sum(map(operator.mul, cx, perm))) >= bar
        return Trend(sxy / den, hits / total, total, True)
    rng = random.Random(seed)
    shuffled = list(cy)
    hits = 0
    for _ in range(permutations):
        rng.shuffle(shuffled)
        hits += abs(sum(map(operator.mul, cx, shuffled))) >= bar
    return Trend(sxy / den, (hits + 1) / (permutations + 1), permutations, False)


def pack_outcomes(correct: Iterable[bool]) -> str:
    """Per-example right/wrong as a hex string, 8 examples a byte (first example in the lowest bit): 450
    test examples take 113 characters, so rows can carry what a paired test needs."""
    bits = list(correct)
    data = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            data[i >> 3] |= 1 << (i & 7)
    return data.hex()


def unpack_outcomes(text: str, n: int) -> list[bool]:
    data = bytes.fromhex(text)
    return [bool(data[i >> 3] >> (i & 7) & 1) for i in range(n)]


# --- reuseverdict: how often a per-seed event lands where a claim says, against its chance ---------------------

def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided p-value of k hits in n tries each with chance p.
    3 hits of 3 at p = 1/5: 1/125 = 0.008; 2 of 3: 3 * (1/5)^2 * 4/5 + 1/125 = 0.104."""
    return min(1.0, sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1)))

# --- timeverdict: paired intervals over timing blocks and three-way difference verdicts ---------------------

def paired_values(diffs: Sequence[float]) -> Paired:
    """A Paired from differences already formed (per interleaved timing block, or per seed after arithmetic
    such as gain - share * loss): their mean, SD and the half-width of the mean's two-sided 95% interval."""
    d = list(diffs)
    n = len(d)
    spread = sd(d)
    half = t95(n - 1) * spread / math.sqrt(n) if n > 1 else math.inf  # inf with one value: no spread measured
    return Paired(d, mean(d), spread, half)


def shown_or_bounded(p: Paired, margin: float) -> bool | None:
    """A difference claim "a exceeds b" at 95%: True when the two-sided 95% interval of a - b lies above zero;
    False when the one-sided 95% upper bound lies below `margin` (any excess is smaller than the margin: shown
    absent); None when neither (the interval is too wide to tell). True wins where both hold (a small excess
    that is nonetheless shown)."""
    if p.above_zero:
        return True
    return False if one_sided_bounds(p)[1] < margin else None


def shown_or_bounded_fragile(p: Paired, margin: float) -> tuple[bool | None, bool]:
    """shown_or_bounded, and whether it is fragile: its deciding bound (the 95% lower bound against 0 for yes, the
    one-sided upper bound against `margin` for no) within one standard error of its threshold."""
    v = shown_or_bounded(p, margin)
    se = standard_error(p)
    if v is True:
        return v, fragile_bound(p.mean - p.half_width, 0.0, se)
    if v is False:
        return v, fragile_bound(one_sided_bounds(p)[1], margin, se)
    return v, False


def all_of(verdicts: Iterable[bool | None]) -> bool | None:
    """A claim that must hold in every setting: False if any setting says no, True if all say yes, else None."""
    v = list(verdicts)
    if any(x is False for x in v):
        return False
    return True if v and all(x is True for x in v) else None

# --- probeverdict: a rank trend pooled over seeds ----------------------------------------------------------

def pooled_spearman_trend(series: Sequence[Sequence[float]], permutations: int = PERMUTATIONS,
                          seed: int = 0) -> Trend:
    """Spearman's rank correlation of each series with its position (depth), averaged over the series (seeds),
    and its two-sided permutation p-value: under "no trend" each series' ranks are an independent random
    ordering, so the mean correlation's null distribution shuffles each series apart. One series: exactly
    spearman_trend. Exact (every combination) while the orderings number at most 8! = 40,320, else that many
    seeded random ones ((k + 1) / (N + 1), so p > 0)."""
    if len(series) == 1:
        return spearman_trend(range(len(series[0])), series[0], permutations, seed)
    centered = []
    for y in series:
        rx, ry = ranks(range(len(y))), ranks(y)
        mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
        cx, cy = [r - mx for r in rx], [r - my for r in ry]
        den = math.sqrt(sum(a * a for a in cx) * sum(b * b for b in cy))
        if len(y) < 2 or den == 0:
            return Trend(float("nan"), 1.0, 0, True)
        centered.append((cx, cy, den))

    def total(orders) -> float:
        return sum(sum(map(operator.mul, cx, cy)) / den for (cx, _, den), cy in zip(centered, orders))

    observed = total([cy for _, cy, _ in centered])
    bar = abs(observed) * (1 - 1e-12)
    rng = random.Random(seed)
    shuffled = [list(cy) for _, cy, _ in centered]
    hits = 0
    for _ in range(permutations):
        for s in shuffled:
            rng.shuffle(s)
        hits += abs(total(shuffled)) >= bar
    return Trend(observed / len(series), (hits + 1) / (permutations + 1), permutations, False)

# --- memorize verdicts (memverdict): difference claims at 95% ------------------------------------------------

def difference(p: Paired, threshold: float = 0.0) -> bool | None:
    """Is the mean difference a - b above `threshold`, at 95% (the two-sided t interval)? True when the whole interval
    lies above it, False when the whole interval lies below it, None when it straddles the threshold or one seed
    leaves no spread: the run cannot tell."""
    if p.n < 2:
        return None
    if p.mean - p.half_width > threshold:
        return True
    if p.mean + p.half_width < threshold:
        return False
    return None

# --- one training loop: the median of repeated timings and its interval ------------------------------------

def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median of `values` (the sign test's): the k-th smallest and k-th
    largest value for the largest k with P(Binomial(n, 1/2) < k) <= (1 - level) / 2, which covers the median
    with probability >= level whatever the distribution. With 15 values: the 4th and 12th (96.5%). Under 6
    values no pair of them reaches 95%: (-inf, inf)."""
    v = sorted(values)
    n, tail = len(v), Fraction(1 - level).limit_denominator(1000) / 2
    k = 0
    while k < n // 2 and _binom_half_cdf(k, n) <= tail:
        k += 1
    if k == 0:
        return -math.inf, math.inf
    return v[k - 1], v[n - k]
