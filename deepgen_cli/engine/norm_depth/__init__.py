"""`norm-depth`: does batch norm's small-microbatch loss compound with depth (Ioffe 2017)? The same MLP family,
mlp-bn with 1, 2 and 4 normalized hidden layers of one width, trained with batch norm and batch renorm at a
small microbatch and at the whole minibatch, paired by seed; the findings (findings.py) read the premise's loss at
each depth, its growth from the shallowest to the deepest, and renorm's recovery at each depth."""

from __future__ import annotations

from dataclasses import dataclass

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, LR_SCHEDULE, MOMENTUM, REPEATS, DataConfig,
                                       RunOptions, TrainOptions, at_least, opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.norm_compare import (BN_MOMENTUM, DMAX, DMAX_FRACTION, MICROBATCH, RENORM_MOMENTUM, RMAX,
                                             RMAX_FRACTION, WARMUP_FRACTION)
from deepgen_cli.engine.norm_depth.findings import findings
from deepgen_cli.engine.norm_depth.rows import NormDepthRow, train_one
from deepgen_cli.engine.sweep import measure_rows

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
        data_mod.check(data_mod.config_for(self))


def plan(config: NormDepthConfig) -> list[tuple[int, int, str, int]]:
    """(depth, microbatch, norm, seed), seeds innermost: batch norm at every microbatch, renorm at the small ones
    (at the whole minibatch renorm's r and d stay near 1 and 0: it is batch norm there)."""
    micro = sorted(set(config.microbatch))
    return [(d, m, k, config.seed + i) for d in sorted(set(config.depths)) for m in micro for k in NORMS
            if k == "batch" or m < micro[-1] for i in range(config.repeats)]


def run(config: NormDepthConfig, device, session):
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        rows = measure_rows(
            session, plan(config), row_type=NormDepthRow, key=lambda item: item,
            measure=lambda item, label: train_one(config, data, *item, device, session, label),
            label=lambda item: f"depth {item[0]}, {item[2]} at microbatch {item[1]}, seed {item[3]}")
        session.progress("checking the published claims")
        return findings(rows, config)
