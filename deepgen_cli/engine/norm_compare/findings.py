"""Ioffe (2017)'s batch renorm claims judged on the rows of a `norm-compare` run: the premise (batch norm loses
accuracy at small or non-i.i.d. microbatches), renorm's recovery, the train/eval output gap and the step cost.

Each verdict compares a measured difference with the spread of that same difference across seeds (for the
step cost: with batch norm's spread against an identical copy of itself); nothing is fitted to the result.
Claims the run did not test get no verdict."""

from __future__ import annotations

import math

from deepgen_cli.engine.norm_compare.notes import PAPER, notes_for
from deepgen_cli.engine.outcome import Finding, Outcome
from deepgen_cli.engine.stats import mean, sd, seed_differences as paired

MIN_SEEDS = 2  # a seed spread needs two seeds


def by_cell(rows, field: str) -> dict[tuple[str, int | None, str], dict[int, float]]:
    """(norm, microbatch, sampling) -> {seed: getattr(row, field)}."""
    out: dict = {}
    for r in rows:
        out.setdefault((r.norm, r.microbatch, r.sampling), {})[r.seed] = getattr(r, field)
    return out


def _measured(claim: str, measured: str, reproduced: bool) -> Finding:
    """A verdict computed from this run's own numbers (the one place that builds the findings)."""
    return Finding(claim=claim, measured=measured, reproduced=reproduced, basis="measured")


def where(m: int, sampling: str, k: int | None = None) -> str:
    return f"microbatch {m} " + ("i.i.d." if sampling == "iid" else f"non-i.i.d. (K={k})" if k else "non-i.i.d.")


def hard_settings(rows) -> tuple[tuple[int, str] | None, list[tuple[int, str]]]:
    """(reference, hard settings) among batch norm's: the largest i.i.d. microbatch is the reference; the
    smallest i.i.d. microbatch (when smaller) and every non-i.i.d. one are where the paper expects a loss."""
    cells = {(r.microbatch, r.sampling) for r in rows if r.norm == "batch"}
    iid = sorted(m for m, s in cells if s == "iid")
    if not iid:
        return None, []
    hard = [(iid[0], "iid")] if iid[0] < iid[-1] else []
    return (iid[-1], "iid"), hard + sorted((m, s) for m, s in cells if s == "non-iid")


def _premise(acc, ref, hard, k, analysis) -> tuple[list[Finding], dict]:
    """Batch norm's seed-mean loss against its own reference, judged against sqrt(SD_ref^2 + SD^2)."""
    base = acc[("batch", *ref)]
    losses, parts, out = {}, [], []
    for h in hard:
        a = acc[("batch", *h)]
        loss, spread = mean(base.values()) - mean(a.values()), math.hypot(sd(base.values()), sd(a.values()))
        holds = loss > spread
        losses[h] = loss if holds else None
        out.append({"microbatch": h[0], "sampling": h[1], "loss": loss, "spread": spread, "holds": holds})
        parts.append(f"{where(*h, k)} {100 * mean(a.values()):.1f} ± {100 * sd(a.values()):.1f}% "
                     f"({-100 * loss:+.1f} points against a spread of {100 * spread:.1f}: {'yes' if holds else 'no'})")
    analysis["premise"] = out
    measured = (f"batch norm's eval-mode test accuracy, mean ± SD over {len(base)} seeds: {where(*ref)} "
                f"{100 * mean(base.values()):.1f} ± {100 * sd(base.values()):.1f}%; " + "; ".join(parts)
                + " (yes needs, in every one of these settings, a loss larger than its seed spread "
                  "sqrt(SD_reference^2 + SD^2))")
    return [_measured("Batch norm loses accuracy at small or non-i.i.d. microbatches (Ioffe 2017's premise)",
                      measured, all(o["holds"] for o in out))], losses


def _recovery(acc, hard, losses, k, analysis) -> list[Finding]:
    """Paired renorm - batch norm over seeds (same initial weights and minibatches), against its own SD."""
    claim = "Batch renorm recovers what batch norm loses at small and non-i.i.d. microbatches (Ioffe 2017)"
    parts, verdicts, out = [], [], []
    for h in hard:
        d = paired(acc[("renorm", *h)], acc[("batch", *h)])
        gain, spread = mean(d), sd(d)
        loss = losses.get(h)
        out.append({"microbatch": h[0], "sampling": h[1], "paired_gain": gain, "sd": spread, "per_seed": d,
                    "share_of_loss": gain / loss if loss else None})
        text = (f"{where(*h, k)} {100 * gain:+.1f} ± {100 * spread:.1f} points (per seed "
                f"{', '.join(f'{100 * x:+.1f}' for x in d)})")
        if loss:
            verdicts.append(gain > spread)
            text += f", {gain / loss:.0%} of batch norm's {100 * loss:.1f}-point loss: {'yes' if gain > spread else 'no'}"
        else:
            text += ", where batch norm lost no more than its seed spread: not judged"
        parts.append(text)
    analysis["recovery"] = out
    rule = (" (yes needs the mean paired gain above its SD over seeds in every setting where batch norm lost "
            "accuracy)")
    head = "renorm − batch norm, eval-mode test accuracy, paired by seed (same initial weights and minibatches): "
    if not verdicts:
        return [_measured(claim, "batch norm lost no more than the seed spread in any small or non-i.i.d. setting "
                          "(finding above): there is nothing to recover; " + head + "; ".join(parts), False)]
    return [_measured(claim, head + "; ".join(parts) + rule, all(verdicts))]


def _gap(tv, hard, k, analysis) -> list[Finding]:
    """Batch norm's train/eval output gap minus renorm's, paired by seed, against its own SD."""
    parts, verdicts, out = [], [], []
    for h in hard:
        bn, brn = tv[("batch", *h)], tv[("renorm", *h)]
        d = paired(bn, brn)
        verdicts.append(mean(d) > sd(d))
        out.append({"microbatch": h[0], "sampling": h[1], "batch": mean(bn.values()), "renorm": mean(brn.values()),
                    "paired_difference": mean(d), "sd": sd(d)})
        parts.append(f"{where(*h, k)} {mean(bn.values()):.3f} vs {mean(brn.values()):.3f} (paired difference "
                     f"{mean(d):.3f} ± {sd(d):.3f}: {'yes' if mean(d) > sd(d) else 'no'})")
    analysis["output_gap_tv"] = out
    return [_measured("Training with batch renorm sees the inference function: its train/eval output gap is smaller "
                      "than batch norm's at small and non-i.i.d. microbatches (Ioffe 2017)",
                      "mean total-variation distance (0 to 1) between batch-statistics and eval-mode softmax outputs "
                      "on test minibatches drawn like the training ones, batch norm vs renorm: " + "; ".join(parts)
                      + " (yes needs batch norm's gap above renorm's by more than the SD of the per-seed differences "
                        "in every setting)", all(verdicts))]


def _step_cost(timing: dict, config, analysis) -> list[Finding]:
    """Renorm/BN step-time ratio against the band of an identical BN model timed in the same blocks."""
    if not timing:
        return []
    parts, verdicts, out = [], [], {}
    for m, t in sorted(timing.items()):
        logs = [math.log(r / b) for r, b in zip(t["renorm"], t["batch"])]
        self_logs = [math.log(a / b) for a, b in zip(t["batch again"], t["batch"])]
        # |bias| + 2 standard errors of BN'/BN's mean log ratio over the same number of blocks: what an
        # identical model's ratio reaches by chance about 1 time in 20 on this machine at this load.
        tol = abs(mean(self_logs)) + 2 * sd(self_logs) / math.sqrt(len(self_logs))
        ok = abs(mean(logs)) <= tol
        verdicts.append(ok)
        out[str(m)] = {"renorm_over_batch": math.exp(mean(logs)), "batch_again_over_batch": math.exp(mean(self_logs)),
                       "log_tolerance": tol, "blocks_ms": t}
        parts.append(f"microbatch {m}: {math.exp(mean(logs)):.2f}x (batch norm against its copy "
                     f"{math.exp(mean(self_logs)):.2f}x, blocks {math.exp(min(self_logs)):.2f}-"
                     f"{math.exp(max(self_logs)):.2f}x: a tolerance of x{math.exp(tol):.2f}): {'yes' if ok else 'no'}")
    analysis["step_cost"] = out
    return [_measured("Batch renorm trains at the speed of batch norm (Ioffe 2017)",
                      f"training step time renorm / batch norm, geometric mean over {config.timing_blocks} "
                      f"interleaved blocks of {config.timing_steps} steps: " + "; ".join(parts)
                      + " (yes needs the ratio within |bias| + 2 standard errors of batch norm against an identical "
                        "batch norm model timed in the same blocks, at every microbatch)", all(verdicts))]


def findings(rows: list, config, n_train: int, timing: dict | None = None) -> Outcome:
    """The four verdicts (each only when the run has what it needs) and the notes."""
    analysis: dict = {"paper": PAPER}
    acc, tv = by_cell(rows, "test_accuracy"), by_cell(rows, "output_gap_tv")
    ref, hard = hard_settings(rows)
    k = config.non_iid or None
    found: list[Finding] = []
    short = False
    if ref and hard:
        if min(len(acc[("batch", *c)]) for c in [ref, *hard]) < MIN_SEEDS:
            short = True
        else:
            premise, losses = _premise(acc, ref, hard, k, analysis)
            found += premise
            both = [h for h in hard if ("renorm", *h) in acc and len(acc[("renorm", *h)]) >= MIN_SEEDS]
            if both:
                found += _recovery(acc, both, losses, k, analysis) + _gap(tv, both, k, analysis)
    found += _step_cost(timing or {}, config, analysis)
    return Outcome(found, notes_for(rows, config, n_train, acc, short), analysis)
