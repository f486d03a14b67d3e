"""`probe`: linear classifier probes on every layer (Alain & Bengio 2016), trained alongside the model or
post hoc on a loaded or untrained one, within a memory budget per probe.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import models
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.probe.inputs import Fed, data_config, feed, load_data
from deepgen_cli.engine.probe.alongside import train_with_probes
from deepgen_cli.engine.probe.findings import findings
from deepgen_cli.engine.probe.posthoc import run_posthoc
from deepgen_cli.engine.probe.rows import ProbeRow, make_row  # noqa: F401  (ProbeRow: the row type of this command)
from deepgen_cli.engine.probe.layers import discover, select
from deepgen_cli.engine.probe.reduce import MB, REDUCTIONS, probe_bytes
from deepgen_cli.engine.probe.passes import Probed, prepare
from deepgen_cli.engine.outcome import Outcome

MAX_THREADS = 256


@dataclass(frozen=True)
class ProbeConfig:
    model: str = "cnn"
    weights: str | None = None  # local state_dict: probe this trained model post hoc
    untrained: bool = False  # probe the randomly initialized model post hoc (the paper's baseline)
    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False  # fetch cifar10 / mnist / fashion-mnist into data_dir when missing
    image_size: int | None = None  # resize side in pixels; None keeps the data set's
    subset: int | None = None  # train on this many examples
    synthetic_shape: tuple[int, int, int] = data_mod.DataConfig.synthetic_shape  # --dataset synthetic only
    synthetic_classes: int = data_mod.DataConfig.synthetic_classes
    synthetic_examples: tuple[int, int] = (data_mod.DataConfig.synthetic_train, data_mod.DataConfig.synthetic_test)
    epochs: int = 4  # model training epochs (training mode)
    snapshots: tuple[int, ...] | None = None  # epochs whose probes are scored; None: 1, middle, last
    batch_size: int = 64
    lr: float = 0.05  # the model's SGD learning rate (momentum 0.9)
    probe_epochs: int = 4  # passes over the data for post-hoc probes
    probe_lr: float = 0.02  # the probes' SGD learning rate (momentum 0.9), on standardized features
    layers: str | None = None  # comma-separated names or globs; None: every probe-able layer
    reduce: str = "auto"  # auto | none | subset | project | pool
    max_probe_mb: float = 64.0  # per probe (fp32 weights, momentum, gradient); also bounds a control fit (16 B x d^2)
    max_total_probe_mb: float = 1024.0  # probes trained at once; post hoc runs more passes beyond it
    control: bool = True  # control-task probes per layer (random label per example), fit to convergence
    cka_examples: int = 128  # test examples for linear CKA between consecutive layers; 0: none
    # CPU threads. One by default: the default model's products are too small to split, and on shared cores a
    # second thread stalls at every barrier (measured: a small post-hoc probe run took 0.1 s on one thread,
    # 4.9 s on two busy cores). Give more to a torchvision model at 224x224 on idle cores; None: torch's default.
    threads: int | None = 1
    seed: int = 0
    alpha: float = 0.05  # significance level of every verdict's test (family-wise where Holm-corrected)

    @property
    def posthoc(self) -> bool:
        return self.weights is not None or self.untrained

    def snapshot_epochs(self) -> tuple[int, ...]:
        """The epochs whose probes are scored: as given, else the first, middle and last."""
        if self.snapshots is not None:
            return tuple(sorted(set(self.snapshots)))
        return tuple(sorted({1, (self.epochs + 1) // 2, self.epochs}))


def check(config: ProbeConfig) -> None:
    positive = {"--epochs": config.epochs, "--batch-size": config.batch_size, "--probe-epochs": config.probe_epochs}
    for flag, value in positive.items():
        if value < 1:
            raise UsageError(f"{flag}: must be at least 1, got {value}")
    for flag, value in {"--lr": config.lr, "--probe-lr": config.probe_lr, "--max-probe-mb": config.max_probe_mb,
                        "--max-total-probe-mb": config.max_total_probe_mb}.items():
        if not value > 0 or value == float("inf"):
            raise UsageError(f"{flag}: must be a positive number, got {value}")
    if config.reduce not in REDUCTIONS:
        raise UsageError(f"--reduce: unknown reduction '{config.reduce}'; valid: {', '.join(REDUCTIONS)}")
    if config.cka_examples < 0:
        raise UsageError(f"--cka-examples: must be 0 (off) or more, got {config.cka_examples}")
    if config.threads is not None and not 1 <= config.threads <= MAX_THREADS:
        raise UsageError(f"--threads: must be an integer from 1 to {MAX_THREADS}, got {config.threads}")
    if config.weights is not None and config.untrained:
        raise UsageError("--untrained: cannot be combined with --weights; choose one model to probe")
    if config.posthoc and config.snapshots is not None:
        raise UsageError("--snapshots: epochs of training mode; a post-hoc probe (--weights, --untrained) "
                         "has one snapshot, so drop --snapshots")
    for s in config.snapshot_epochs():
        if not 1 <= s <= config.epochs:
            raise UsageError(f"--snapshots: epoch {s} is outside 1..{config.epochs} (--epochs)")
    if config.model not in models.names():
        raise UsageError(f"--model: unknown model '{config.model}'; valid: {', '.join(models.names())}")
    data_mod.check(data_config(config))


def build_model(config: ProbeConfig, channels: int, side: int, classes: int) -> nn.Module:
    torch.manual_seed(config.seed)  # the model's initial weights
    entry = models.entry(config.model)
    kw = dict(in_channels=channels, num_classes=classes)
    if "image_size" in inspect.signature(entry.builder).parameters:  # torchvision's builders size themselves
        kw["image_size"] = side
    model = entry.builder(**kw)
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
    check(config)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        session.progress("loading data")
        fed, data = prepare_run(config, device)
        probed, notes = layer_plan(fed, data, config, device)
        if config.posthoc:
            rows = run_posthoc(fed, data, probed, config, device, session)
        else:
            rows = train_with_probes(fed, data, probed, config, device, session, make_row)
    finally:
        torch.set_num_threads(threads)  # the caller's process keeps its own setting
    return findings(rows, config, notes, len(data.y_test), data.num_classes)


