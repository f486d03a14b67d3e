"""norm-compare's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, EVAL_EVERY, LR, LR_SCHEDULE, MODEL, MOMENTUM, REPEATS,
                                       WEIGHT_DECAY, DataConfig, RunOptions, TrainOptions, at_least, between, finite,
                                       opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.layers import NORMS as NORM_KINDS
from deepgen_cli.engine.models import user


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
    norms: tuple[str, ...] = NORMS(NORM_KINDS)
    batch_size: int = BATCH_SIZE(32)  # the gradient minibatch: one SGD step, loss averaged over it (the paper's 32)
    microbatch: tuple[int, ...] = MICROBATCH((2, 4, 32))  # examples per batch (re)norm statistic
    non_iid: int = NON_IID(2)  # K classes per non-i.i.d. minibatch: 2 x 16 images, the analogue of 16 of 1000 x 2
    model: str = MODEL("mlp-bn")  # a registry model built with batch norm
    # Taken to say why not: each variant is the network built again with another norm in its norm slots
    model_file: str | None = user.MODEL_FILE.but(help="Not taken: norm-compare builds each norm variant from a "
                                                      "catalog builder's norm argument; a file's network has its own "
                                                      "norm layers.")(None)
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
        bad = [n for n in self.norms if n not in NORM_KINDS]
        if bad or not self.norms:
            raise UsageError(f"--norms: unknown norm '{bad[0] if bad else ''}'; valid: {', '.join(NORM_KINDS)}")
        wrong = [m for m in self.microbatch if m < 2 or m > self.batch_size or self.batch_size % m]
        if wrong or not self.microbatch:
            raise UsageError(f"--microbatch: each must divide --batch-size {self.batch_size} and be 2 or more, "
                             f"e.g. 2,4,{self.batch_size}; got {show_list(self.microbatch)}")
        if self.non_iid > self.batch_size:
            raise UsageError(f"--non-iid: {self.non_iid} classes per minibatch needs --batch-size {self.non_iid} "
                             f"or more")
        if self.model_file:
            raise UsageError(f"--model-file: norm-compare builds one network once per norm (batch, renorm, group, "
                             f"none) from a catalog builder's norm argument; a network from a file comes with its "
                             f"own norm layers; use --model with one of: {', '.join(models.names(tag='batchnorm'))}")
        if self.model not in models.names(tag="batchnorm"):
            # the registry models tagged for this experiment (a DenseNet or ResNet has batch norm too, but is not
            # one of them: saying it has none would be wrong)
            raise UsageError(f"--model: norm-compare swaps the batch norm layers of "
                             f"{', '.join(models.names(tag='batchnorm'))}; got '{self.model}'")
        check_data(self)


@dataclass
class NormCompareRow:
    KEY: ClassVar[tuple[str, ...]] = ("norm", "microbatch", "sampling", "seed")  # --resume's and report's

    norm: str
    microbatch: int | None  # examples per batch (re)norm statistic; None for group norm and none (per example)
    batch_size: int  # the gradient minibatch
    sampling: str  # iid | non-iid
    classes_per_batch: int | None  # K of a non-iid row
    seed: int
    test_accuracy: float  # eval mode: moving statistics
    test_accuracy_batch_stats: float  # norms in training mode on test minibatches drawn like the training ones
    output_gap_tv: float  # mean total-variation distance between train-mode and eval-mode softmax outputs
    batch_stats_examples: int  # test examples in those minibatches (all of them)
    train_accuracy: float  # last epoch, as trained (training mode)
    train_loss: float
    steps: int  # optimizer steps
    train_time_s: float
    train_step_ms: float
    latency_ms_median: float  # eval forward of latency_batch test images
    lr: float  # peak learning rate (the schedule starts there)
    warmup_steps: int | None = None  # renorm schedule actually used: plain BN until, dmax at, rmax at (steps)
    dmax_steps: int | None = None
    rmax_steps: int | None = None
    renorm_active_steps: int | None = None  # steps with rmax > 1 or dmax > 0
    r_clipped_fraction: float | None = None  # of the r values in those steps, over layers, microbatches, channels
    d_clipped_fraction: float | None = None
    epochs: list = field(default_factory=list)  # per epoch: train loss and accuracy, seconds, steps


@dataclass(frozen=True)
class Setting:
    microbatch: int | None  # None: the per-example norms' setting (group norm, no norm)
    non_iid: int  # K classes per minibatch; 0: iid

    @property
    def sampling(self) -> str:
        return "non-iid" if self.non_iid else "iid"

    def describe(self) -> str:
        size = f"microbatch {self.microbatch}" if self.microbatch else "per example"
        return f"{size} {self.sampling}" + (f" (K={self.non_iid})" if self.non_iid else "")
