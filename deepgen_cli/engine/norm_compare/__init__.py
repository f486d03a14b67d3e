"""`norm-compare`: one architecture trained with batch norm, batch renorm, group norm and no norm, as Ioffe
(2017) ran it: a gradient minibatch whose batch-norm statistics come from microbatches inside it, and
non-i.i.d. minibatches of a few classes; accuracy in eval mode and with batch statistics, step cost."""

from __future__ import annotations

from dataclasses import dataclass

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import distributed, models
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, EVAL_EVERY, LR, LR_SCHEDULE, MODEL, MOMENTUM, REPEATS,
                                       WEIGHT_DECAY, DataConfig, RunOptions, TrainOptions, at_least, between, finite,
                                       opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.norm_compare.findings import findings
from deepgen_cli.engine.norm_compare.rows import NormCompareRow, Setting, train_one
from deepgen_cli.engine.norm_compare.timing import time_steps
from deepgen_cli.engine.sweep import measure_rows

NORMS = opt("--norms", parse=parse_list(str, "batch,renorm"), show=",".join,
            help="Comma-separated norms: batch, renorm, group, none.")
MICROBATCH = opt("--microbatch", parse=parse_list(int, "2,4,32"), show=show_list,
                 help="Comma-separated examples per batch (re)norm statistic: each --batch-size minibatch is split "
                      "into microbatches of this size, each normalized on its own.")
NON_IID = opt("--non-iid", type=int, metavar="K", check=at_least(0), valid="0 (off) or more",
              help="Also train on minibatches of K classes each, at every microbatch of 2K or more; 0: off.")
MOMENTUM_RATE = dict(type=float, check=lambda v: finite(v) and 0 < v <= 1, valid="in (0, 1]")
BN_MOMENTUM = opt("--bn-momentum", **MOMENTUM_RATE,
                  help="Rate of batch norm's moving mean and variance, one update per step.")
RENORM_MOMENTUM = opt("--renorm-momentum", **MOMENTUM_RATE,
                      help="Rate of batch renorm's moving mean and std, one update per step.")
RMAX = opt("--rmax", type=float, check=lambda v: finite(v) and v >= 1,
           valid="a finite number >= 1 (r is clipped to [1/rmax, rmax])", help="Final clip of r to [1/rmax, rmax].")
DMAX = opt("--dmax", type=float, check=lambda v: finite(v) and v >= 0,
           valid="a finite number >= 0 (d is clipped to [-dmax, dmax])", help="Final clip of d to [-dmax, dmax].")
FRACTION = dict(type=float, check=between(0, 1), valid="a fraction of the run's steps in [0, 1]")
WARMUP_FRACTION = opt("--warmup-fraction", **FRACTION,
                      help="Share of the run's steps that renorm spends as plain batch norm (rmax 1, dmax 0).")
DMAX_FRACTION = opt("--dmax-fraction", **FRACTION, help="Share of the run's steps by which dmax reaches --dmax.")
RMAX_FRACTION = opt("--rmax-fraction", **FRACTION, help="Share of the run's steps by which rmax reaches --rmax.")
EAGER_TIMING = opt("--eager-timing", type=bool, panel="Speed",
                   help="Time the speed claim's models eagerly (default: torch.compile'd where that works).")
GROUPS = opt("--groups", type=int, check=at_least(1), valid="1 or more",
             help="GroupNorm groups: the largest divisor of each layer's channel count up to this.")


@dataclass(frozen=True, kw_only=True)
class NormCompareConfig(RunOptions, DataConfig, TrainOptions):
    norms: tuple[str, ...] = NORMS(norms.NORMS)
    batch_size: int = BATCH_SIZE(32)  # the gradient minibatch: one SGD step, loss averaged over it (the paper's 32)
    microbatch: tuple[int, ...] = MICROBATCH((2, 4, 32))  # examples per batch (re)norm statistic
    non_iid: int = NON_IID(2)  # K classes per non-i.i.d. minibatch: 2 x 16 images, the analogue of 16 of 1000 x 2
    model: str = MODEL("mlp-bn")  # a registry model built with batch norm
    epochs: int = EPOCHS(10)
    lr: float = LR(0.05)  # absolute, the peak of the schedule
    lr_schedule: str = LR_SCHEDULE("cosine")  # a constant lr leaves the final iterate biased to the last classes
    eval_every: int = EVAL_EVERY(0)  # no learning curve: rows are scored once, after training
    momentum: float = MOMENTUM(0.9)
    weight_decay: float = WEIGHT_DECAY(0.0)
    bn_momentum: float = BN_MOMENTUM(0.01)  # the same rate as renorm's, so both average over the same steps
    renorm_momentum: float = RENORM_MOMENTUM(0.01)  # the paper's alpha
    rmax: float = RMAX(3.0)  # final clip of r (Ioffe 2017)
    dmax: float = DMAX(5.0)  # final clip of d
    # The paper's 5k / 25k / 40k-step ramps as shares of an 80k-step run: rmax fully relaxed at half the run,
    # and r, d active in 94% of the steps (393 of 420 in the default run), so renorm is renorm for most of it.
    warmup_fraction: float = WARMUP_FRACTION(0.0625)
    dmax_fraction: float = DMAX_FRACTION(0.3125)
    rmax_fraction: float = RMAX_FRACTION(0.5)
    groups: int = GROUPS(8)
    repeats: int = REPEATS(3)  # seeds per setting: seed, seed + 1, ...; the verdicts need 2 or more
    latency_batch: int = 32  # test images per timed inference forward pass
    latency_min_time_s: float = 0.05
    # interleaved blocks of batch norm, batch norm again and renorm steps, per microbatch: a multiple of 6, so each
    # order of the three runs equally often (timing.ORDERS); 12 x 14 steps about the 8 x 20 of before
    timing_blocks: int = 12
    timing_steps: int = 14  # SGD steps per block
    # The three timed models torch.compile'd, as a user of either method would run them (eager where compiling
    # fails here, e.g. no C compiler; the finding says which). Eager, deepgen's renorm layer is a handful of small
    # ops more than batch norm's kernel, which on a CPU costs more than the arithmetic; compiled, both are fused.
    eager_timing: bool = EAGER_TIMING(False)

    def ignored(self) -> dict[str, str]:
        return {"eval_every": "norm-compare scores each row once, after training"}

    def check(self) -> None:
        super().check()
        bad = [n for n in self.norms if n not in norms.NORMS]
        if bad or not self.norms:
            raise UsageError(f"--norms: unknown norm '{bad[0] if bad else ''}'; valid: {', '.join(norms.NORMS)}")
        wrong = [m for m in self.microbatch if m < 2 or m > self.batch_size or self.batch_size % m]
        if wrong or not self.microbatch:
            raise UsageError(f"--microbatch: each must divide --batch-size {self.batch_size} and be 2 or more, "
                             f"e.g. 2,4,{self.batch_size}; got {show_list(self.microbatch)}")
        if self.non_iid > self.batch_size:
            raise UsageError(f"--non-iid: {self.non_iid} classes per minibatch needs --batch-size {self.non_iid} "
                             f"or more")
        if self.model not in models.names(tag="batchnorm"):
            # the registry models tagged for this experiment (a DenseNet or ResNet has batch norm too, but is not
            # one of them: saying it has none would be wrong)
            raise UsageError(f"--model: norm-compare swaps the batch norm layers of "
                             f"{', '.join(models.names(tag='batchnorm'))}; got '{self.model}'")
        data_mod.check(data_mod.config_for(self))


def check_ranks(config: NormCompareConfig, ranks: int) -> None:
    """Under torchrun each of N ranks trains on its contiguous B/N slice of every --batch-size B minibatch and
    normalizes only over it (DDP does not share batch statistics): the paper's multi-worker setup. A row's
    microbatch must then be a whole part of that slice, or its statistics would pool fewer examples than the
    row says; with microbatch = B/N each rank's batch-norm statistics are its own slice, as Ioffe's workers'."""
    part = config.batch_size // ranks
    wrong = [m for m in config.microbatch if part % m] if config.batch_size % ranks == 0 else list(config.microbatch)
    if wrong:
        raise UsageError(f"--microbatch: under torchrun with {ranks} ranks each rank normalizes its own "
                         f"{config.batch_size}/{ranks} examples of every --batch-size {config.batch_size} minibatch; "
                         f"each microbatch must divide {config.batch_size / ranks:g} (e.g. "
                         f"{show_list(sorted({m for m in (2, 4, part) if m >= 2 and part % m == 0}))}); "
                         f"got {show_list(config.microbatch)}")


def settings(config: NormCompareConfig) -> list[Setting]:
    """Every microbatch i.i.d., then non-i.i.d. at the microbatches of 2K or more (a smaller one cannot hold 2
    images of each of the K classes); after each sampling, the per-example norms' setting (microbatch None)."""
    micro = sorted(set(config.microbatch))
    out = [Setting(m, 0) for m in micro] + [Setting(None, 0)]
    if config.non_iid:
        out += [Setting(m, config.non_iid) for m in micro if m >= 2 * config.non_iid] + [Setting(None, config.non_iid)]
    return out


def plan(config: NormCompareConfig) -> list[tuple[Setting, int, str]]:
    """(setting, seed, norm): batch norm and renorm at each microbatch; group norm and no norm once per sampling."""
    out = []
    for s in settings(config):
        kinds = [k for k in config.norms if (k in ("batch", "renorm")) == (s.microbatch is not None)]
        out += [(s, config.seed + i, k) for i in range(config.repeats) for k in kinds]
    return out


def run(config: NormCompareConfig, device, session):
    """Train every (setting, seed, norm), time batch norm against renorm step by step, judge the claims."""
    config = config.resolved()
    config.check()
    world = distributed.current()
    if world is not None:
        check_ranks(config, world.size)
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        rows = measure_rows(
            session, plan(config), row_type=NormCompareRow,
            key=lambda item: (item[2], item[0].microbatch, item[0].sampling, item[1]),
            measure=lambda item, label: train_one(config, data, item[2], item[0], item[1], device, session, label),
            label=lambda item: f"{item[2]}, {item[0].describe()}" + (f", seed {item[1]}" if config.repeats > 1 else ""))
        timing, eager = {}, {}
        if {"batch", "renorm"} <= set(config.norms) and config.timing_blocks:  # 0: a run that times nothing
            for m in sorted(set(config.microbatch)):
                session.progress(f"timing training steps: batch norm, batch norm again, renorm at microbatch {m}"
                                 + ("" if config.eager_timing else " (compiling them first)"))
                timing[m], eager[m] = time_steps(config, data, m, device)
        session.progress("checking the published claims")
        return findings(rows, config, len(data.y_train), timing, eager, data.num_classes)
