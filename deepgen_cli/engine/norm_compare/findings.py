"""Ioffe (2017)'s batch renorm claims checked against the rows of a `norm-compare` run; claims the run did
not test get no verdict."""

from __future__ import annotations

import math
from deepgen_cli.engine.outcome import Finding, Outcome

REFERENCE_BATCH = 32  # lr is given per 32 examples: a batch of B trains with lr * B / 32
STEP_COST_TOLERANCE = 0.20  # "same speed" holds for a BRN/BN step-time ratio within 20% of 1
EQUIVALENCE_TOLERANCE = 1e-4  # float32 rounding of sigma^2 - eps + eps on logits of order 1-10
PAPER = "Ioffe 2017, Inception-v3: microbatches of 4: BN 74.2% -> BRN 76.5%; non-i.i.d. 16x2: BN 67.0% -> BRN 78.6%"


def _mean(values) -> float:
    return sum(values) / len(values)


def _accuracy_by_setting(rows, kind: str) -> dict[tuple[int, str], list[float]]:
    out: dict[tuple[int, str], list[float]] = {}
    for r in rows:
        if r.norm == kind:
            out.setdefault((r.batch_size, r.sampling), []).append(r.test_accuracy)
    return out


def _beats(rows, config, analysis: dict) -> list[Finding]:
    bn, brn = _accuracy_by_setting(rows, "batch"), _accuracy_by_setting(rows, "renorm")
    hard = [k for k in bn if k in brn and (k[1] == "non-iid" or k[0] <= config.small_batch)]
    if not hard:
        return []  # the run did not test small or non-i.i.d. minibatches with both norms
    diffs = {k: _mean(brn[k]) - _mean(bn[k]) for k in hard}
    analysis["renorm_vs_batch"] = [{"batch_size": b, "sampling": s, "batch_accuracy": _mean(bn[(b, s)]),
                                    "renorm_accuracy": _mean(brn[(b, s)]), "difference": diffs[(b, s)],
                                    "seeds": len(bn[(b, s)])} for b, s in hard]
    parts = [f"batch {b} {s}: BN {_mean(bn[(b, s)]):.1%} vs BRN {_mean(brn[(b, s)]):.1%} "
             f"({100 * diffs[(b, s)]:+.1f} points)" for b, s in hard]
    seeds = min(len(bn[k]) for k in hard)
    rule = (f"yes needs BRN ahead by >= {100 * config.margin:.1f} points in every small (<= {config.small_batch}) "
            f"or non-i.i.d. setting, test accuracy in eval mode, mean of {seeds} seed{'s' if seeds > 1 else ''}")
    return [Finding("Batch renorm beats batch norm at small and non-i.i.d. minibatches (Ioffe 2017)",
                    "; ".join(parts) + f" ({rule})", all(d >= config.margin for d in diffs.values()), "measured")]


def _identical(rows) -> list[Finding]:
    checked = [r for r in rows if r.bn_equivalence_max_abs is not None]
    if not checked:
        return []
    worst = max(r.bn_equivalence_max_abs for r in checked)
    return [Finding("At inference batch renorm is batch norm: y = gamma (x - mu) / sigma + beta (Ioffe 2017)",
                    f"max |BRN_eval(x) - BN_eval(x)| with the same statistics = {worst:.2e} over the test logits of "
                    f"{len(checked)} trained renorm model{'s' if len(checked) > 1 else ''} "
                    f"(tolerance {EQUIVALENCE_TOLERANCE:g})", worst <= EQUIVALENCE_TOLERANCE, "measured")]


def _step_cost(rows, analysis: dict) -> list[Finding]:
    bn = {(r.batch_size, r.sampling, r.seed): r.train_step_ms for r in rows if r.norm == "batch"}
    ratios = [r.train_step_ms / bn[(r.batch_size, r.sampling, r.seed)] for r in rows
              if r.norm == "renorm" and (r.batch_size, r.sampling, r.seed) in bn]
    if not ratios:
        return []
    ratio = math.exp(_mean([math.log(x) for x in ratios]))  # geometric mean over matched runs
    analysis["step_cost_ratio_renorm_over_batch"] = {"geometric_mean": ratio, "ratios": ratios}
    return [Finding("Batch renorm trains at the speed of batch norm (Ioffe 2017)",
                    f"training step cost ratio BRN/BN = {ratio:.2f}x (geometric mean of {len(ratios)} matched runs, "
                    f"range {min(ratios):.2f}-{max(ratios):.2f}x; same speed: within ±{STEP_COST_TOLERANCE:.0%})",
                    abs(ratio - 1) <= STEP_COST_TOLERANCE, "measured")]


def findings(rows: list, config, n_train: int) -> Outcome:
    analysis: dict = {"paper": PAPER}
    found = _beats(rows, config, analysis) + _identical(rows) + _step_cost(rows, analysis)
    notes = [f"learning rate {config.lr:g} per {REFERENCE_BATCH} examples, scaled linearly with the batch size; "
             f"{config.epochs} epoch{'s' if config.epochs > 1 else ''} of {n_train} training examples"]
    if rows:
        n_test = rows[0].batch_stats_examples
        notes.append(f"{n_test} test examples: one example is {100 / n_test:.2f} points of accuracy; a difference "
                     f"of a point or two between single runs can be seed noise (--repeats averages seeds)")
    bn_iid = {b: _mean(v) for (b, s), v in _accuracy_by_setting(rows, "batch").items() if s == "iid"}
    if len(bn_iid) >= 2:
        lo, hi = min(bn_iid), max(bn_iid)
        hurts = bn_iid[lo] <= bn_iid[hi] - config.margin
        notes.append(f"batch norm alone, i.i.d., eval mode: batch {lo} {bn_iid[lo]:.1%} vs batch {hi} {bn_iid[hi]:.1%}; "
                     f"the paper's premise is that small minibatches hurt batch norm: "
                     + ("they do here" if hurts else "here they do not, which leaves renorm little to recover"))
    renorm = [r for r in rows if r.norm == "renorm"]
    if renorm:
        shown = ", ".join(f"batch {r.batch_size} {r.sampling}: {r.warmup_steps}/{r.dmax_steps}/{r.rmax_steps} of {r.steps}"
                          for r in renorm if r.seed == config.seed)
        scaled = all(v is None for v in (config.warmup_steps, config.rmax_steps, config.dmax_steps))
        how = ("the paper's 5k/25k/40k-step schedule scaled so rmax reaches its final value at half of each run"
               if scaled else "schedule set by --warmup-steps/--dmax-steps/--rmax-steps")
        notes.append(f"batch renorm: rmax {config.rmax:g}, dmax {config.dmax:g}, moving averages at rate "
                     f"{config.renorm_momentum:g}; {how} (plain BN until / dmax at / rmax at step: {shown})")
    short: dict[tuple[int, str], int] = {}
    for r in renorm:
        if r.steps < 3 / config.renorm_momentum:
            short[(r.batch_size, r.sampling)] = max(r.steps, short.get((r.batch_size, r.sampling), 0))
    if short:
        listing = ", ".join(f"batch {b} {s}: {n} steps" for (b, s), n in sorted(short.items()))
        notes.append(f"batch renorm's moving averages at rate {config.renorm_momentum:g} span about "
                     f"{1 / config.renorm_momentum:.0f} steps; runs shorter than {3 / config.renorm_momentum:.0f} "
                     f"({listing}) train towards and infer with statistics still near their start "
                     f"(batch norm here uses torch's rate 0.1); try --renorm-momentum 0.1 or more --epochs")
    if config.non_iid and not any(r.sampling == "non-iid" for r in rows):
        notes.append(f"no non-iid rows: --non-iid {config.non_iid} needs a batch size of at least {2 * config.non_iid}")
    elif any(r.sampling == "non-iid" for r in rows):
        notes.append(f"non-iid rows: every minibatch holds {config.non_iid} classes (the paper: 16 of 1000 classes "
                     f"x 2 images); batch-statistics accuracy uses test minibatches drawn the same way, the few "
                     f"examples left over at the end in class-sorted minibatches")
    notes.append(f"published: {PAPER}")
    return Outcome(found, notes, analysis)
