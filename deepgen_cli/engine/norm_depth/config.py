"""norm-depth's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine.checks import check_data
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, LR_SCHEDULE, MOMENTUM, REPEATS, DataConfig,
                                       RunOptions, TrainOptions, at_least, opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.norm_compare.config import (BN_MOMENTUM, DMAX, DMAX_FRACTION, MICROBATCH, RENORM_MOMENTUM,
                                                    RMAX, RMAX_FRACTION, WARMUP_FRACTION)


DEPTHS = opt("--depths", parse=parse_list(int, "1,2,4"), show=show_list,
             help="Comma-separated numbers of normalized hidden layers of mlp-bn (Linear, norm, ReLU each).")
WIDTH = opt("--width", type=int, check=at_least(1), valid="1 or more", help="Units of each hidden layer.")
MAX_DEPTH = 16  # an MLP of 16 normalized layers trains in seconds on digits; deeper ones only cost time
NORMS = ("batch", "renorm")


@dataclass(frozen=True, kw_only=True)
class NormDepthConfig(RunOptions, DataConfig, TrainOptions):
    depths: tuple[int, ...] = DEPTHS((1, 2, 4))
    width: int = WIDTH(128)  # mlp-bn's own width
    # The small microbatch and the reference: each batch norm statistic over 2 examples, and over the whole
    # minibatch of 32 (the paper's microbatch 4 of 32 and its reference 32; 2 is where digits shows the loss)
    microbatch: tuple[int, ...] = MICROBATCH((2, 32))
    batch_size: int = BATCH_SIZE(32)  # the gradient minibatch, as in norm-compare and the paper
    epochs: int = EPOCHS(6)
    lr: float = LR(0.05)  # norm-compare's
    lr_schedule: str = LR_SCHEDULE("cosine")
    momentum: float = MOMENTUM(0.9)
    bn_momentum: float = BN_MOMENTUM(0.01)
    renorm_momentum: float = RENORM_MOMENTUM(0.01)
    rmax: float = RMAX(3.0)
    dmax: float = DMAX(5.0)
    warmup_fraction: float = WARMUP_FRACTION(0.0625)  # the paper's ramps as shares of the run (norm-compare's)
    dmax_fraction: float = DMAX_FRACTION(0.3125)
    rmax_fraction: float = RMAX_FRACTION(0.5)
    repeats: int = REPEATS(3)  # seeds, paired across depths, microbatches and norms; the verdicts need 2 or more

    def ignored(self) -> dict[str, str]:
        return {"eval_every": "norm-depth scores each row once, after training"}

    def check(self) -> None:
        super().check()
        if not self.depths or any(not 1 <= d <= MAX_DEPTH for d in self.depths):
            raise UsageError(f"--depths: each must be from 1 to {MAX_DEPTH}, e.g. 1,2,4; got {show_list(self.depths)}")
        wrong = [m for m in self.microbatch if m < 2 or m > self.batch_size or self.batch_size % m]
        if wrong or len(set(self.microbatch)) < 2:
            raise UsageError(f"--microbatch: two or more sizes, each dividing --batch-size {self.batch_size} and 2 "
                             f"or more (the smallest is judged against the largest), e.g. 2,{self.batch_size}; "
                             f"got {show_list(self.microbatch)}")
        check_data(self)


@dataclass
class NormDepthRow:
    KEY: ClassVar[tuple[str, ...]] = ("depth", "microbatch", "norm", "seed")  # --resume's and report's

    depth: int  # normalized hidden layers
    microbatch: int  # examples per batch (re)norm statistic
    norm: str  # batch | renorm
    seed: int
    test_accuracy: float  # eval mode: moving statistics
    train_accuracy: float  # last epoch, as trained
    train_loss: float
    steps: int
    train_time_s: float
