"""`probe`: linear classifier probes on every layer (Alain & Bengio 2016), trained alongside the model or
post hoc on a loaded or untrained one, within a memory budget per probe.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import models
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, UNTRAINED, WEIGHTS, DataConfig, RunOptions,
                                       TrainOptions, at_least, opt, parse_list, positive, show_list)
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.probe.inputs import Fed, data_config, feed, load_data
from deepgen_cli.engine.probe.alongside import train_with_probes
from deepgen_cli.engine.probe.findings import findings
from deepgen_cli.engine.probe.metrics import CKA_MIN_EXAMPLES
from deepgen_cli.engine.probe.posthoc import run_posthoc
from deepgen_cli.engine.probe.repeats import seed_rows
from deepgen_cli.engine.sweep import plan_rows
from deepgen_cli.engine.probe.rows import ProbeRow, make_row  # noqa: F401  (ProbeRow: the row type of this command)
from deepgen_cli.engine.probe.layers import discover, select
from deepgen_cli.engine.probe.reduce import MB, REDUCTIONS, probe_bytes
from deepgen_cli.engine.probe.passes import Probed, prepare
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome

SNAPSHOTS = opt("--snapshots", optional=True, parse=parse_list(int, "1,2,4"), show=show_list,
                help="Epochs whose probes are scored, e.g. 1,2,4 (default: first, middle, last; training mode).")
PROBE_EPOCHS = opt("--probe-epochs", type=int, check=at_least(1), valid="1 or more",
                   help="Passes over the data for post-hoc probes.")
PROBE_LR = opt("--probe-lr", type=float, check=positive, valid="a positive number",
               help="The probes' SGD learning rate (momentum 0.9, standardized features).")
LAYERS = opt("--layers", optional=True, help="Comma-separated layer names or globs, e.g. input,layer*.0 (default: all).")
REDUCE = opt("--reduce", choices=REDUCTIONS,
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
    weights: str | None = WEIGHTS(None)  # local state_dict: probe this trained model post hoc
    untrained: bool = UNTRAINED(False)  # probe the randomly initialized model post hoc (the paper's baseline)
    epochs: int = EPOCHS(4)  # model training epochs (training mode)
    snapshots: tuple[int, ...] | None = SNAPSHOTS(None)  # epochs whose probes are scored; None: 1, middle, last
    batch_size: int = BATCH_SIZE(64)  # for the model and the probes
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

    def ignored(self) -> dict[str, str]:
        curve = {"eval_every": "probe scores the model's layers at --snapshots epochs, not a learning curve"}
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
        models.entry(self.model, "--model", tag="trainable")
        data_mod.check(data_config(self))


def build_model(config: ProbeConfig, channels: int, side: int, classes: int) -> nn.Module:
    torch.manual_seed(config.seed)  # the model's initial weights
    model = models.create(config.model, in_channels=channels, num_classes=classes, image_size=side)
    if config.weights is not None:
        from deepgen_cli.engine.models.loading import load_weights

        load_weights(model, config.weights)
    return model


def prepare_run(config: ProbeConfig, device) -> tuple[Fed, object]:
    """The model (seeded, or loaded from --weights) with its per-batch input map, and the data set."""
    data, side, channels = load_data(config, models.entry(config.model).in_channels)
    model = build_model(config, channels, side, data.num_classes)
    return feed(model, data, side, channels).to(device), data


def layer_plan(fed: Fed, data, config: ProbeConfig, device) -> tuple[list[Probed], list[str]]:
    """Discovered layers, chosen by --layers, each with its reduction; plus notes on what was skipped."""
    example = fed.inputs(data.x_train[:1].to(device))
    try:
        layers, skipped = discover(fed.model, example)
    except RuntimeError as err:
        raise RunError(f"--model {config.model}: a forward pass on {tuple(example.shape[1:])} inputs failed "
                       f"({str(err).splitlines()[0]}); try --image-size") from None
    chosen = select(layers, config.layers)
    notes = []
    if skipped:
        notes.append(f"not probed (module runs more than once per forward): {', '.join(skipped[:8])}"
                     + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""))
    probed = prepare(chosen, data.num_classes, config.reduce, config.max_probe_mb, config.seed, device)
    budget = config.max_probe_mb * MB
    over = [p.layer.name for p in probed
            if p.reduction.kind == "none" and probe_bytes(p.reduction.out_features, data.num_classes) > budget]
    if over:
        notes.append(f"--reduce none: probes over the {config.max_probe_mb:g} MiB budget at {', '.join(over)}")
    reduced = [p.layer.name for p in probed if p.reduction.kind != "none"]
    if reduced:
        notes.append(f"features reduced to fit {config.max_probe_mb:g} MiB per probe at {len(reduced)} layers")
    return probed, notes


def run(config: ProbeConfig, device: torch.device, session) -> Outcome:
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress("loading data")
        fed, data = prepare_run(config, device)
        probed, notes = layer_plan(fed, data, config, device)
        plan_rows(session, len(probed) * ((1 if config.posthoc else len(config.snapshot_epochs()))
                                          + len(config.seeds()) - 1))
        if config.posthoc:
            rows = run_posthoc(fed, data, probed, config, device, session)
        else:
            rows = train_with_probes(fed, data, probed, config, device, session, make_row)
        for seed in config.seeds()[1:]:
            again = dataclasses.replace(config, seed=seed)
            model = build_model(again, fed.channels, fed.side, data.num_classes)
            rows += seed_rows(feed(model, data, fed.side, fed.channels).to(device), data, probed, again, device,
                              session)
        if config.weights is not None and config.repeats > 1:
            notes.append("--weights: one given network, so the verdicts rest on it alone (--repeats needs seeds)")
    return findings(rows, config, notes, len(data.y_test), data.num_classes)


