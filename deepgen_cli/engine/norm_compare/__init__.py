"""`norm-compare`: one architecture trained with batch norm, batch renorm, group norm and no norm, at
small and non-i.i.d. minibatches; accuracy in eval mode and with batch statistics, step cost, latency."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepgen_cli.engine import data as data_mod, measure, train
from deepgen_cli.engine.config import (EPOCHS, LR, MODEL, MOMENTUM, REPEATS, WEIGHT_DECAY, DataOptions,
                                       RunOptions, at_least, finite, opt, parse_list, show_list)
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import RenormSchedule
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.norm_compare.findings import REFERENCE_BATCH, findings


NORMS = opt("--norms", parse=parse_list(str, "batch,renorm"), show=",".join,
            help="Comma-separated norms: batch, renorm, group, none.")
BATCH_SIZES = opt("--batch-size", "-b", parse=parse_list(int, "2,4,32"), show=show_list,
                  help="Comma-separated minibatch sizes to sweep.")
NON_IID = opt("--non-iid", type=int, metavar="K", check=at_least(0), valid="0 (off) or more",
              help="Also train with minibatches of K classes each (batch sizes >= 2K); 0: off.")
RMAX = opt("--rmax", type=float, check=lambda v: finite(v) and v >= 1,
           valid="a finite number >= 1 (r is clipped to [1/rmax, rmax])", help="Final clip of r to [1/rmax, rmax].")
DMAX = opt("--dmax", type=float, check=lambda v: finite(v) and v >= 0,
           valid="a finite number >= 0 (d is clipped to [-dmax, dmax])", help="Final clip of d to [-dmax, dmax].")
STEPS = dict(type=int, optional=True, check=at_least(0), valid="0 or more optimizer steps")
WARMUP_STEPS = opt("--warmup-steps", **STEPS, help="Optimizer steps of plain batch norm (default: paper's 5k scaled).")
RMAX_STEPS = opt("--rmax-steps", **STEPS, help="Step where rmax is reached (default: paper's 40k scaled to half the run).")
DMAX_STEPS = opt("--dmax-steps", **STEPS, help="Step where dmax is reached (default: paper's 25k scaled).")
RENORM_MOMENTUM = opt("--renorm-momentum", type=float, check=lambda v: 0 < v <= 1, valid="in (0, 1]",
                      help="Rate of batch renorm's moving mean and std.")
GROUPS = opt("--groups", type=int, check=at_least(1), valid="1 or more",
             help="GroupNorm groups (the largest divisor of the channel count up to this).")
MARGIN = opt("--margin", type=float, check=lambda v: 0 <= v < 1, valid="a fraction in [0, 1)",
             help="Accuracy (fraction) by which renorm must beat batch norm.")


@dataclass(frozen=True, kw_only=True)
class NormCompareConfig(RunOptions, DataOptions):
    norms: tuple[str, ...] = NORMS(norms.NORMS)
    batch_sizes: tuple[int, ...] = BATCH_SIZES((2, 4, 32))
    non_iid: int = NON_IID(2)  # K: non-i.i.d. rows build each minibatch from K classes (batch sizes >= 2K); 0: none
    model: str = MODEL("cnn")  # a registry model built with batch norm
    epochs: int = EPOCHS(2)
    lr: float = LR(0.1)  # per 32 examples (linear scaling with the batch size)
    momentum: float = MOMENTUM(0.9)
    weight_decay: float = WEIGHT_DECAY(5e-4)
    rmax: float = RMAX(3.0)  # final clip of r (Ioffe 2017)
    dmax: float = DMAX(5.0)  # final clip of d
    warmup_steps: int | None = WARMUP_STEPS(None)  # plain batch norm steps; None: the paper's 5k scaled to the run
    rmax_steps: int | None = RMAX_STEPS(None)  # step where rmax is reached; None: the paper's 40k scaled (half the run)
    dmax_steps: int | None = DMAX_STEPS(None)  # step where dmax is reached; None: the paper's 25k scaled
    renorm_momentum: float = RENORM_MOMENTUM(0.01)  # rate of the moving mean and std of batch renorm
    groups: int = GROUPS(8)  # GroupNorm groups (the largest divisor of the channel count up to this)
    repeats: int = REPEATS(1)  # seeds per setting: seed, seed + 1, ...
    margin: float = MARGIN(0.01)  # renorm "beats" batch norm by at least this accuracy (fraction) in every setting
    small_batch: int = 4  # batch sizes up to this count as small (the paper's microbatches of 4)
    latency_batch: int = 32  # test images per timed inference forward pass
    latency_min_time_s: float = 0.05

    def check(self) -> None:
        super().check()
        bad = [n for n in self.norms if n not in norms.NORMS]
        if bad or not self.norms:
            raise UsageError(f"--norms: unknown norm '{bad[0] if bad else ''}'; valid: {', '.join(norms.NORMS)}")
        if not self.batch_sizes or any(b < 2 for b in self.batch_sizes):
            raise UsageError(f"--batch-size: give batch sizes of 2 or more, e.g. 2,4,32; got {show_list(self.batch_sizes)}")
        if self.model not in norms.BN_MODELS:
            raise UsageError(f"--model: '{self.model}' has no batch norm layer to swap; valid: {', '.join(norms.BN_MODELS)}")
        data_mod.check(data_mod.config_for(self))


@dataclass
class NormCompareRow:
    norm: str
    batch_size: int
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
    lr: float
    warmup_steps: int | None = None  # renorm schedule actually used
    dmax_steps: int | None = None
    rmax_steps: int | None = None
    bn_equivalence_max_abs: float | None = None  # renorm: max |logits - its BatchNorm twin's|, eval, 1024 test images
    epochs: list = field(default_factory=list)  # per-epoch train loss and accuracy


@dataclass(frozen=True)
class Setting:
    batch_size: int
    non_iid: int  # 0: iid

    @property
    def sampling(self) -> str:
        return "non-iid" if self.non_iid else "iid"


def settings(config: NormCompareConfig) -> list[Setting]:
    """Every batch size i.i.d.; non-i.i.d. too where a batch holds at least 2 images of each of K classes."""
    out = []
    for b in config.batch_sizes:
        out.append(Setting(b, 0))
        if config.non_iid and b >= 2 * config.non_iid:
            out.append(Setting(b, config.non_iid))
    return out


def schedule_for(config: NormCompareConfig, total_steps: int) -> RenormSchedule:
    """The paper's schedule scaled to `total_steps` (rmax reached at half the run), with any overrides."""
    s = RenormSchedule.scaled(total_steps, config.rmax, config.dmax)
    w = s.warmup_steps if config.warmup_steps is None else config.warmup_steps
    r = s.rmax_steps if config.rmax_steps is None else config.rmax_steps
    d = s.dmax_steps if config.dmax_steps is None else config.dmax_steps
    return RenormSchedule(config.rmax, config.dmax, w, max(r, w), max(d, w))


def batches_for(setting: Setting, labels: torch.Tensor, generator: torch.Generator,
                keep_leftovers: bool = False) -> list[torch.Tensor]:
    if setting.non_iid:
        return norms.non_iid_batches(labels, setting.batch_size, setting.non_iid, generator, keep_leftovers)
    out = norms.iid_batches(len(labels), setting.batch_size, generator)
    if len(out) > 1 and len(out[-1]) == 1:  # a lone example has no batch statistics
        out[-2:] = [torch.cat(out[-2:])]
    return out


def train_one(config: NormCompareConfig, data, kind: str, setting: Setting, seed: int, device, session,
              label: str) -> NormCompareRow:
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(batches_for(setting, data.y_train, gen))
    schedule = schedule_for(config, steps_per_epoch * config.epochs)
    torch.manual_seed(seed)  # the same initial weights for every norm (norm layers draw nothing)
    model = norms.build(config.model, kind, in_channels=data.in_channels, image_size=data.image_size,
                        num_classes=data.num_classes, momentum=config.renorm_momentum, schedule=schedule,
                        groups=config.groups).to(device)
    lr = config.lr * setting.batch_size / REFERENCE_BATCH
    tcfg = train.TrainConfig.of(config, batch_size=setting.batch_size, lr=lr, seed=seed)
    order = None
    if setting.non_iid:
        labels = data.y_train.cpu()
        order = lambda epoch, generator: norms.non_iid_batches(labels, setting.batch_size, setting.non_iid, generator)  # noqa: E731
    result = train.train(model, data, tcfg, device, batch_order=order,
                         on_epoch=lambda s: session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, "
                                                             f"train accuracy {s.train_accuracy:.1%}"))
    session.progress(f"{label}: evaluating")
    test = train.evaluate(model, data.x_test, data.y_test, device)
    test_batches = batches_for(setting, data.y_test, torch.Generator().manual_seed(seed), keep_leftovers=True)
    acc_b, gap, n = norms.batch_statistics_eval(model, data.x_test, data.y_test, test_batches, device)
    example = data.x_test[:config.latency_batch].to(device)
    latency = measure.measure_latency(model.eval(), example, config.latency_min_time_s)
    last = result.epochs[-1]
    renorm = kind == "renorm"
    return NormCompareRow(
        norm=kind, batch_size=setting.batch_size, sampling=setting.sampling,
        classes_per_batch=setting.non_iid or None, seed=seed, test_accuracy=test.accuracy,
        test_accuracy_batch_stats=acc_b, output_gap_tv=gap, batch_stats_examples=n,
        train_accuracy=last.train_accuracy, train_loss=last.train_loss, steps=result.steps,
        train_time_s=result.seconds, train_step_ms=1e3 * result.seconds / max(result.steps, 1),
        latency_ms_median=latency.median_ms, lr=lr,
        warmup_steps=schedule.warmup_steps if renorm else None, dmax_steps=schedule.dmax_steps if renorm else None,
        rmax_steps=schedule.rmax_steps if renorm else None,
        bn_equivalence_max_abs=norms.bn_equivalence(model, data.x_test[:1024], device) if renorm else None,
        epochs=[{"epoch": s.epoch, "train_loss": s.train_loss, "train_accuracy": s.train_accuracy} for s in result.epochs],
    )


def run(config: NormCompareConfig, device: torch.device, session):
    """Train every (setting, seed, norm), norms innermost so their step times are measured side by side."""
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        plan = [(s, config.seed + i, kind) for s in settings(config) for i in range(config.repeats)
                for kind in config.norms]
        rows = measure_rows(
            session, plan, row_type=NormCompareRow,
            key=lambda item: dict(norm=item[2], batch_size=item[0].batch_size, sampling=item[0].sampling, seed=item[1]),
            measure=lambda item, label: train_one(config, data, item[2], item[0], item[1], device, session, label),
            label=lambda item: f"{item[2]}, batch {item[0].batch_size} {item[0].sampling}"
                               + (f", seed {item[1]}" if config.repeats > 1 else ""))
        session.progress("checking the published claims")
        return findings(rows, config, len(data.y_train))
