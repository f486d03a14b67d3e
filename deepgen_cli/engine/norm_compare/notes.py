"""The notes under a norm-compare verdict: the protocol as run, renorm's schedule and clipping per setting,
the per-example norms next to the non-i.i.d. premise, and settings whose seeds disagree wildly."""

from __future__ import annotations

from deepgen_cli.engine.stats import mean, sd

PAPER = ("Ioffe 2017, Inception-v3 on ImageNet, minibatch 32: statistics over microbatches of 4: BN 74.2% -> "
         "BRN 76.5%; non-i.i.d. minibatches of 16 classes x 2 images: BN 67.0% -> BRN 78.6%")
UNSTABLE_SD = 0.10  # a seed SD of 10 points: at least one seed far from the others (a collapse, not noise)


def _where(m, sampling) -> str:
    return (f"microbatch {m}" if m else "per example") + (" i.i.d." if sampling == "iid" else " non-i.i.d.")


def _pm(values) -> str:
    return f"{100 * mean(values):.1f} ± {100 * sd(values):.1f}%"


def _protocol(rows, config, n_train) -> str:
    steps = {s: sorted({r.steps for r in rows if r.sampling == s}) for s in ("iid", "non-iid")}
    shown = "; ".join(f"{s}: {v[0]}" + (f"-{v[-1]}" if v[-1] != v[0] else "") + " steps"
                      for s, v in steps.items() if v)
    lr = (f"lr {config.lr:g} decayed to 0 by a cosine over the run's steps" if config.lr_schedule == "cosine"
          else f"constant lr {config.lr:g}")
    return (f"gradient minibatch {config.batch_size} (one SGD step, loss averaged over it); batch norm and renorm "
            f"statistics over microbatches of {', '.join(map(str, sorted(set(config.microbatch))))} inside it, each "
            f"normalized on its own; {config.model}, {lr}, momentum {config.momentum:g}, weight decay "
            f"{config.weight_decay:g}; {config.epochs} epoch{'s' if config.epochs > 1 else ''} of {n_train} training examples, the last partial "
            f"minibatch of each epoch dropped ({shown}); the same initial weights and minibatches for every norm "
            f"and microbatch at a seed")


def _non_iid(config) -> str:
    k, b = config.non_iid, config.batch_size
    return (f"non-i.i.d. minibatches: {k} classes x {b // k} images each, drawn without replacement and shuffled "
            f"so that each microbatch is a random part of its minibatch (the paper: 16 of 1000 classes x 2 "
            f"images, 1.6% of its classes; on 10 classes K=2 is the nearest that still gives a classification "
            f"gradient); trained at microbatches of {2 * k} or more; the batch-statistics accuracy and the "
            f"train/eval gap use test minibatches drawn the same way, the leftovers included")


def _renorm(rows, config) -> str | None:
    cells: dict = {}
    for r in rows:
        if r.norm == "renorm" and r.renorm_active_steps is not None:
            cells.setdefault((r.microbatch, r.sampling), []).append(r)
    if not cells:
        return None
    parts = [f"{_where(m, s)}: r/d active {mean(r.renorm_active_steps for r in v):.0f} of "
             f"{mean(r.steps for r in v):.0f} steps, r clipped {mean(r.r_clipped_fraction for r in v):.0%}, "
             f"d {mean(r.d_clipped_fraction for r in v):.0%} of their values"
             for (m, s), v in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    return (f"batch renorm: rmax {config.rmax:g}, dmax {config.dmax:g}; plain batch norm for the first "
            f"{config.warmup_fraction:.2%} of the steps, dmax reached at {config.dmax_fraction:.2%}, rmax at "
            f"{config.rmax_fraction:.2%} (the paper's 5k / 25k / 40k steps as shares of 80k); seed means: "
            + "; ".join(parts))


def _controls(acc, rows) -> str | None:
    """The per-example norms at both samplings, next to batch norm's non-i.i.d. loss."""
    parts = []
    for norm in ("none", "group"):
        both = [acc.get((norm, None, s)) for s in ("iid", "non-iid")]
        if all(both):
            parts.append(f"{norm}: i.i.d. {_pm(both[0].values())}, non-i.i.d. {_pm(both[1].values())} "
                         f"({100 * (mean(both[1].values()) - mean(both[0].values())):+.1f} points)")
    if not parts or not any(r.norm == "batch" and r.sampling == "non-iid" for r in rows):
        return None
    return ("per-example norms beside the non-i.i.d. premise (they do not depend on the microbatch): "
            + "; ".join(parts) + "; a loss these show too comes from training on a few classes per step, not "
                                 "from batch statistics")


def _unstable(acc) -> list[str]:
    out = []
    for (norm, m, s), v in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1] or 0)):
        if len(v) >= 2 and sd(v.values()) > UNSTABLE_SD:
            seeds = ", ".join(f"{100 * v[k]:.1f}%" for k in sorted(v))
            out.append(f"{norm}, {_where(m, s)}: seeds {min(v)}-{max(v)} reached {seeds} (SD "
                       f"{100 * sd(v.values()):.0f} points): runs far apart (an unstable or collapsed seed), so "
                       f"the mean is not a typical run")
    return out


def notes_for(rows, config, n_train: int, acc: dict, short: bool) -> list[str]:
    notes = [_protocol(rows, config, n_train)] if rows else []
    if config.non_iid and any(r.sampling == "non-iid" for r in rows):
        notes.append(_non_iid(config))
    notes.append(f"moving averages: batch norm at rate {config.bn_momentum:g}, renorm at {config.renorm_momentum:g}; "
                 f"one update per optimizer step towards the mean over microbatches of their statistics (batch "
                 f"norm: means and unbiased variances; renorm: means and standard deviations)")
    notes += [n for n in (_renorm(rows, config), _controls(acc, rows)) if n]
    notes += _unstable(acc)
    if rows:
        n_test = rows[0].batch_stats_examples
        notes.append(f"{n_test} test examples: one example is {100 / n_test:.2f} points of accuracy")
    if short:
        notes.append("the premise, recovery and gap verdicts are 95% intervals of differences over seeds; "
                     "with one seed per setting there is no spread: run with --repeats 2 or more")
    notes.append(f"published: {PAPER}")
    return notes
