"""probe's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, UNTRAINED, WEIGHTS, DataConfig, RunOptions,
                                       TrainOptions, at_least, opt, parse_list, positive, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.models import user

REDUCTIONS = ("auto", "none", "subset", "project", "pool")  # --reduce (engine/probe/reduce.py applies them)
CKA_MIN_EXAMPLES = 4  # the unbiased HSIC estimator (probe/metrics.py) divides by n - 3: it needs at least 4


SNAPSHOTS = opt("--snapshots", optional=True, parse=parse_list(int, "1,2,4"), show=show_list,
                help="Epochs whose probes are scored, e.g. 1,2,4 (default: first, middle, last; training mode).")
PROBE_EPOCHS = opt("--probe-epochs", type=int, check=at_least(1), valid="1 or more",
                   help="Passes over the data for post-hoc probes.")
PROBE_LR = opt("--probe-lr", type=float, check=positive, valid="a positive number",
               help="The probes' SGD learning rate (momentum 0.9, standardized features).")
LAYERS = opt("--layers", optional=True, help="Comma-separated layer names or globs, e.g. input,layer*.0 (default: all).")
REDUCE = opt("--reduce", choices=REDUCTIONS, metavar="KIND",  # the values in full would break mid-word at 80
             help="How a layer wider than --max-probe-mb shrinks: auto, none, subset, project or pool.")
MAX_PROBE_MB = opt("--max-probe-mb", type=float, check=lambda v: positive(v), valid="a positive number",
                   help="MiB per probe (fp32 weights, momentum, gradient); auto reduces to fit.")
MAX_TOTAL_PROBE_MB = opt("--max-total-probe-mb", type=float, check=lambda v: positive(v), valid="a positive number",
                         help="MiB of probes at once (training mode: with one batch's features); post hoc, more "
                              "passes beyond it.")
CONTROL = opt("--control", type=bool, panel="Control task",  # alone: see UNTIL_FIT in engine/config.py
              help="Control-task probes (random label per example) for selectivity.")
# The unbiased HSIC estimator divides by n - 3: 1 to 3 examples would silently give no CKA at all.
CKA_EXAMPLES = opt("--cka-examples", type=int, check=lambda v: v == 0 or v >= CKA_MIN_EXAMPLES,
                   valid=f"0 (off) or {CKA_MIN_EXAMPLES} or more (the unbiased estimator divides by n - 3)",
                   help="Test examples for CKA between consecutive layers, in one forward.")


@dataclass(frozen=True, kw_only=True)
class ProbeConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("cnn")
    model_file: str | None = user.MODEL_FILE(None)  # FILE.py:FACTORY(kw=...): the user's network instead of --model
    weights: str | None = WEIGHTS(None)  # local state_dict: probe this trained model post hoc
    untrained: bool = UNTRAINED.but(help="Probe the model at its initial (seeded) weights, untrained, post hoc "
                                         "(the paper's baseline).")(False)
    epochs: int = EPOCHS(4)  # model training epochs (training mode)
    snapshots: tuple[int, ...] | None = SNAPSHOTS(None)  # epochs whose probes are scored; None: 1, middle, last
    batch_size: int = BATCH_SIZE.but(help="Examples per SGD step, of the model and of its probes.")(64)
    lr: float = LR(0.05)  # the model's SGD learning rate
    probe_epochs: int = PROBE_EPOCHS(4)  # passes over the data for post-hoc probes
    probe_lr: float = PROBE_LR(0.02)  # the probes' SGD learning rate (momentum 0.9), on standardized features
    layers: str | None = LAYERS(None)  # comma-separated names or globs; None: every probe-able layer
    reduce: str = REDUCE("auto")  # auto | none | subset | project | pool
    max_probe_mb: float = MAX_PROBE_MB(64.0)  # per probe: fp32 weights, momentum, gradient; bounds a control fit (16 B x d^2)
    max_total_probe_mb: float = MAX_TOTAL_PROBE_MB(1024.0)  # probes trained at once; post hoc: more passes beyond
    control: bool = CONTROL(True)  # control-task probes per layer (random label per example), fit to convergence
    cka_examples: int = CKA_EXAMPLES(128)  # test examples for linear CKA between consecutive layers; 0: none
    # Seeds of the model (seed, seed + 1, ...): the verdicts pool their converged probes, so one seed cannot flip
    # them (the probe trend moved from p = 0.0485 to 0.0609 between two CPUs at one seed). Further seeds train the
    # model again without SGD probes: 3 seeds cost about 1.4x one on the default run.
    repeats: int = REPEATS(3)
    alpha: float = 0.05  # significance level of every verdict's test (family-wise where Holm-corrected)

    @property
    def posthoc(self) -> bool:
        return self.weights is not None or self.untrained

    def seeds(self) -> tuple[int, ...]:
        """The model seeds the verdicts pool over: one for --weights (one given network)."""
        return (self.seed,) if self.weights is not None else tuple(range(self.seed, self.seed + self.repeats))

    def snapshot_epochs(self) -> tuple[int, ...]:
        """The epochs whose probes are scored: as given, else the first, middle and last."""
        if self.snapshots is not None:
            return tuple(sorted(set(self.snapshots)))
        return tuple(sorted({1, (self.epochs + 1) // 2, self.epochs}))

    def resolved(self) -> ProbeConfig:
        config = super().resolved()
        if config.snapshots is None and not config.posthoc:  # record the epochs actually scored
            return dataclasses.replace(config, snapshots=config.snapshot_epochs())
        return config

    @property
    def network(self) -> str:
        """What messages call the probed network: --model-file as given, else --model."""
        return self.model_file or self.model

    def ignored(self) -> dict[str, str]:
        curve = {"eval_every": "probe scores the model's layers at --snapshots epochs, not a learning curve"}
        if self.model_file:
            curve["model"] = "--model-file gives the network"
        if self.posthoc:
            why = "a post-hoc probe (--weights, --untrained) trains no model"
            return {**curve, **{name: why for name in ("epochs", "lr", "momentum", "weight_decay", "lr_schedule")}}
        return {**curve, "probe_epochs": "probes trained alongside the model take one step per model step; "
                                         "--probe-epochs is for post-hoc probes (--weights, --untrained)"}

    def check(self) -> None:
        super().check()
        if self.weights is not None and self.untrained:
            raise UsageError("--untrained: cannot be combined with --weights; choose one model to probe")
        if self.posthoc and self.snapshots is not None:
            raise UsageError("--snapshots: epochs of training mode; a post-hoc probe (--weights, --untrained) "
                             "has one snapshot, so drop --snapshots")
        for s in self.snapshot_epochs():
            if not 1 <= s <= self.epochs:
                raise UsageError(f"--snapshots: epoch {s} is outside 1..{self.epochs} (--epochs)")
        if self.model_file:
            user.check(self.model_file)
        else:
            models.entry(self.model, "--model", tag="trainable")
        from deepgen_cli.engine import data as data_mod  # torch, once the checks above pass
        from deepgen_cli.engine.probe.inputs import data_config

        data_mod.check(data_config(self))


@dataclass
class ProbeRow:
    KEY: ClassVar[tuple[str, ...]] = ("seed", "snapshot", "layer")  # --resume's and report's

    snapshot: str  # "epoch 3" (training mode), "trained" (--weights) or "untrained"
    epoch: int | None
    depth: int  # 0 is the input
    layer: str  # name as in model.named_modules()
    kind: str  # input | conv | activation | pool | linear | block
    type: str
    shape: str  # output shape without the batch axis, e.g. 32x8x8
    features: int  # before reduction
    reduction: str
    probe_features: int  # after reduction
    probe_params: int
    probe_mib: float  # MiB of fp32 weights, momentum and gradient of the task probe
    full_probe_mib: float  # the same for a probe on every feature
    # The converged probe's (control.py: the exact ridge least-squares optimum on the layer's training features,
    # read through a sketch when wider than the fit's budget): what the verdicts read.
    train_error: float | None
    test_error: float | None
    control_train_accuracy: float | None  # a control-task probe fit to convergence, on the training examples
    selectivity: float | None  # a task probe fit the same way minus the control's train accuracy (Hewitt & Liang)
    cka_prev: float | None  # unbiased linear CKA with the previous layer's probe input
    fitted_train_accuracy: float | None = None  # that converged task probe's train accuracy
    control_features: int | None = None  # features the converged fits read (a sketch when < probe_features)
    # Which test examples the probe got right, for paired tests between layers: {"examples": n, "hex": bits
    # packed 8 to a byte, first example lowest} (stats.unpack_outcomes); a dict, so CSV leaves it out.
    test_correct: dict | None = None
    probe_converged: bool | None = None  # the converged probe's solve met its residual test (control.RESIDUAL_TOL)
    fit_residual: float | None = None  # its relative residual ||A w - b|| / ||b||
    fit_rank: int | None = None  # numerical rank of its sketch, where the sketch is narrower than the training set
    # The SGD probe (the paper's: trained alongside the model, one step per model step, or post hoc for
    # --probe-epochs at one --probe-lr whatever the width), kept beside the optimum: on wide layers it stops far
    # from it.
    sgd_train_error: float | None = None
    sgd_test_error: float | None = None
    seed: int = 0  # the model's seed (--repeats: seed, seed + 1, ...)
    model_test_accuracy: float | None = None  # the network's own test accuracy at this snapshot
