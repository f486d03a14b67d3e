"""The papers' efficiency claims, each checked against the rows this run measured."""

from __future__ import annotations

from dataclasses import dataclass

from deepgen_cli.engine.efficiency import densenet_claims, family
from deepgen_cli.engine.op_counts import does_matrix_work
from deepgen_cli.engine.outcome import Finding, Outcome

# A claimed ratio counts as reproduced within this relative distance ("50x" holds for 45x to 55x).
RATIO_TOLERANCE = 0.10
# Measured Mult-Adds agree with a published count within this relative distance.
COUNT_TOLERANCE = 0.02
# The MobileNet paper's Table 8 row for SqueezeNet (1.0 at 224).
SQUEEZENET_PAPER_MULT_ADDS = 1_700_000_000


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


def _latency_vs_size(rows) -> list[Finding]:
    """Howard et al. 2017, Sec. 2: SqueezeNet was built for size, MobileNet for latency. Per SqueezeNet row and
    full-width MobileNet at the same resolution: fewer parameters, and the MobileNet's median latency lower
    by more than either row's interquartile range (a smaller difference is within the timing spread)."""
    out = []
    for sq in (r for r in rows if r.name in ("squeezenet", "squeezenet1_1")):
        mb = next((r for r in rows if r.name == "mobilenet" and r.alpha == 1.0 and r.resolution == sq.resolution), None)
        if mb is None:
            continue
        spread = max(sq.latency_ms_iqr, mb.latency_ms_iqr)
        smaller = sq.params < mb.params
        faster = sq.latency_ms_median - mb.latency_ms_median > spread
        out.append(Finding("MobileNets are optimized for latency, SqueezeNet for size (Howard et al. 2017)",
                           f"params {sq.model} {sq.params / 1e6:.2f}M vs {mb.model} {mb.params / 1e6:.2f}M; median latency "
                           f"{sq.model} {sq.latency_ms_median:.2f} ms vs {mb.model} {mb.latency_ms_median:.2f} ms "
                           f"(needs SqueezeNet smaller and MobileNet faster by more than the larger IQR, {spread:.2f} ms; "
                           f"batch {mb.batch_size}, {mb.threads} thread{'s' if mb.threads != 1 else ''})",
                           smaller and faster, "measured"))
    return out


def findings(rows) -> Outcome:
    analysis: dict = {}
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
             + family.latency_findings(rows, analysis) + _latency_vs_size(rows)
             + densenet_claims.densenet_vs_resnet(rows, notes, analysis))
    return Outcome(found, notes, analysis)
