"""The papers' efficiency claims, each checked against the rows this run measured."""

from __future__ import annotations

import math
from dataclasses import dataclass

from deepgen_cli.engine.efficiency import densenet_claims, family
from deepgen_cli.engine.op_counts import does_matrix_work
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.stats import fragile_bound, one_sided_bounds, paired_values, shown_or_bounded, standard_error

# A claimed ratio counts as reproduced within this relative distance ("50x" holds for 45x to 55x).
RATIO_TOLERANCE = 0.10
# Measured Mult-Adds agree with a published count within this relative distance.
COUNT_TOLERANCE = 0.02
# The MobileNet paper's Table 8 row for SqueezeNet (1.0 at 224).
SQUEEZENET_PAPER_MULT_ADDS = 1_700_000_000
# "MobileNet is faster": the 95% interval of log(SqueezeNet / MobileNet latency) over interleaved blocks lies above
# 0. It is shown not faster when the one-sided 95% upper bound of that speedup is under 1.05x: at most 5% faster,
# less than batch-1 latencies move between runs on one machine, no latency advantage a user would see.
FASTER_MARGIN = math.log(1.05)
SQUEEZENETS = ("squeezenet", "squeezenet1_1")


@dataclass(frozen=True)
class PairClaim:
    small: tuple[str, float | None, int | None]  # (name, alpha, resolution); None matches any
    large: tuple[str, float | None, int | None]
    metric: str  # row key compared: params or mult_adds
    factor: float  # large / small, as claimed
    claim: str


PAIR_CLAIMS = [
    PairClaim(("squeezenet", None, 224), ("alexnet", None, 224), "params", 50,
              "SqueezeNet has 50x fewer parameters than AlexNet (Iandola et al. 2016)"),
    PairClaim(("squeezenet1_1", None, 224), ("alexnet", None, 224), "params", 50,
              "SqueezeNet 1.1 has 50x fewer parameters than AlexNet (Iandola et al. 2016)"),
    PairClaim(("mobilenet", 0.5, 160), ("squeezenet", None, 224), "mult_adds", 22,
              "0.50 MobileNet-160 needs 22x fewer Mult-Adds than SqueezeNet (Howard et al. 2017, Table 8)"),
    PairClaim(("mobilenet", 0.5, 160), ("alexnet", None, 224), "mult_adds", 9.4,
              "0.50 MobileNet-160 needs 9.4x fewer Mult-Adds than AlexNet (Howard et al. 2017, Table 8)"),
    PairClaim(("mobilenet", 0.5, 160), ("alexnet", None, 224), "params", 45,
              "0.50 MobileNet-160 has 45x fewer parameters than AlexNet (Howard et al. 2017, Table 8)"),
]


def _matches(row, key) -> bool:
    name, alpha, res = key
    return (row.name == name and (alpha is None or row.alpha == alpha)
            and (res is None or row.resolution == res))


def _pair_findings(rows) -> list[Finding]:
    out = []
    for pc in PAIR_CLAIMS:
        small = next((r for r in rows if _matches(r, pc.small)), None)
        large = next((r for r in rows if _matches(r, pc.large)), None)
        if small is None or large is None:
            continue  # untested claims get no verdict
        got = getattr(large, pc.metric) / getattr(small, pc.metric)
        ok = abs(got / pc.factor - 1) <= RATIO_TOLERANCE
        out.append(Finding(pc.claim, f"{large.model} / {small.model} {pc.metric.replace('_', '-')} = {got:.1f}x "
                                     f"(claimed {pc.factor:g}x, tolerance ±{RATIO_TOLERANCE:.0%})", ok, "architecture"))
    return out


def _depthwise_findings(rows) -> list[Finding]:
    """Paper section 3.1: depthwise separable 3x3 convolutions use 8 to 9 times less computation."""
    out = []
    for sep in (r for r in rows if r.name == "mobilenet"):
        full = next((r for r in rows if r.name == "mobilenet-conv" and r.alpha == sep.alpha
                     and r.resolution == sep.resolution), None)
        if full is None:
            continue
        got = full.mult_adds / sep.mult_adds
        out.append(Finding("Depthwise separable convolutions cut computation 8 to 9 times (Howard et al. 2017)",
                           f"{full.model} / {sep.model} Mult-Adds = {got:.2f}x "
                           f"({full.mult_adds / 1e6:.0f}M vs {sep.mult_adds / 1e6:.0f}M)", 8 <= got <= 9,
                           "architecture"))
    return out


def _count_findings(rows) -> list[Finding]:
    """Our fvcore count against the count each source published for the same model."""
    checked = [r for r in rows if r.published_mult_adds]
    if not checked:
        return []
    errors = [(abs(r.mult_adds / r.published_mult_adds - 1), r) for r in checked]
    worst, row = max(errors, key=lambda e: e[0])
    listing = ", ".join(f"{r.model} {r.mult_adds / 1e6:.0f}M vs {r.published_mult_adds / 1e6:.0f}M" for r in checked)
    return [Finding("Measured Mult-Adds equal the published counts", f"{listing}; largest difference "
                    f"{worst:.1%} ({row.model}), tolerance {COUNT_TOLERANCE:.0%}", worst <= COUNT_TOLERANCE,
                    "architecture")]


def _latency_pairs(rows):
    """(SqueezeNet row, full-width MobileNet row at the same resolution) for every SqueezeNet row that has one."""
    for sq in (r for r in rows if r.name in SQUEEZENETS):
        mb = next((r for r in rows if r.name == "mobilenet" and r.alpha == 1.0 and r.resolution == sq.resolution), None)
        if mb is not None:
            yield sq, mb


def timing_subjects(rows) -> set[str]:
    """The models (row labels) the measured timing claims compare: timed again in interleaved blocks."""
    return {r.model for pair in _latency_pairs(rows) for r in pair} | family.timed_family(rows)


def _faster(sq, mb, blocks) -> tuple[bool | None, bool, str]:
    """Is MobileNet faster than SqueezeNet over the interleaved blocks: (verdict, fragile, text)."""
    if not blocks or sq.model not in blocks or mb.model not in blocks:
        return None, False, "no interleaved timing (timing_blocks 0)"
    p = paired_values([math.log(a / b) for a, b in zip(blocks[sq.model], blocks[mb.model])])
    v = shown_or_bounded(p, FASTER_MARGIN)
    deciding = (p.mean - p.half_width, 0.0) if v else (one_sided_bounds(p)[1], FASTER_MARGIN)
    fragile = v is not None and fragile_bound(*deciding, standard_error(p))
    return v, fragile, (f"MobileNet {math.exp(p.mean):.2f}x as fast (95% interval {math.exp(p.mean - p.half_width):.2f}"
                        f"-{math.exp(p.mean + p.half_width):.2f}x over {p.n} interleaved blocks, per-block medians)")


def _latency_vs_size(rows, blocks) -> list[Finding]:
    """Howard et al. 2017, Sec. 2: SqueezeNet was built for size, MobileNet for latency. Per SqueezeNet row and
    full-width MobileNet at the same resolution: fewer parameters (exact), and MobileNet faster at 95% over
    interleaved blocks (FASTER_MARGIN); one run's medians and IQRs would let a load change decide."""
    out = []
    for sq, mb in _latency_pairs(rows):
        smaller = sq.params < mb.params
        faster, fragile, timing = _faster(sq, mb, blocks)
        verdict = False if not smaller else faster
        reason = "" if verdict is not None else (
            "the timing's spread is too large for this comparison: the speedup's 95% interval straddles 1 to "
            "1.05x (time on one thread, --threads 1, on an idle machine, or give a longer --min-time)" if blocks else
            "no interleaved timing of the two models (timing_blocks 0)")
        out.append(Finding("MobileNets are optimized for latency, SqueezeNet for size (Howard et al. 2017)",
                           f"params {sq.model} {sq.params / 1e6:.2f}M vs {mb.model} {mb.params / 1e6:.2f}M; median latency "
                           f"{sq.model} {sq.latency_ms_median:.2f} ms vs {mb.model} {mb.latency_ms_median:.2f} ms; "
                           f"{timing} (yes needs SqueezeNet smaller and the interval above 1x; no: SqueezeNet not "
                           f"smaller, or the one-sided 95% upper bound under {math.exp(FASTER_MARGIN):.2f}x; batch "
                           f"{mb.batch_size}, {mb.threads} thread{'s' if mb.threads != 1 else ''})",
                           verdict, "measured", reason=reason, fragile=fragile and verdict is faster))
    return out


def findings(rows, blocks: dict[str, list[float]] | None = None) -> Outcome:
    """`blocks`: per model label, its median latency (ms) in each interleaved timing block."""
    analysis: dict = {"timing_blocks_ms": blocks} if blocks else {}
    notes: list[str] = []
    skipped = sorted({op for r in rows for op in r.skipped_ops})
    matrix = [f"{op.removeprefix('aten::')} ({', '.join(r.model for r in rows if op in r.skipped_ops)})"
              for op in skipped if does_matrix_work(op)]
    other = [op.removeprefix("aten::") for op in skipped if not does_matrix_work(op)]
    if matrix:
        notes.append(f"WARNING: ops that multiply matrices were not counted, so these models' Mult-Adds are "
                     f"too low: {', '.join(matrix)}")
    if other:
        notes.append(f"not counted as Mult-Adds, by convention (element-wise, pooling, activations): {', '.join(other)}")
    for r in rows:
        if r.name == "squeezenet" and r.resolution == 224:
            notes.append(f"the MobileNet paper's SqueezeNet row (Table 8) says {SQUEEZENET_PAPER_MULT_ADDS / 1e6:.0f}M "
                         f"Mult-Adds, {SQUEEZENET_PAPER_MULT_ADDS / r.mult_adds:.2f}x this run's count of "
                         f"{r.mult_adds / 1e6:.0f}M")
            break
    found = (_count_findings(rows) + _pair_findings(rows) + _depthwise_findings(rows)
             + densenet_claims.table_2_findings(rows) + family.accuracy_findings(rows, analysis)
             + family.latency_findings(rows, analysis, blocks) + _latency_vs_size(rows, blocks)
             + densenet_claims.densenet_vs_resnet(rows, notes, analysis))
    return Outcome(found, notes, analysis)
