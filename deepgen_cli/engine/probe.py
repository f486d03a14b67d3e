"""`probe`: linear classifier probes on every layer (Alain & Bengio 2016), trained alongside the model or
post hoc on a loaded or untrained one, within a memory budget per probe.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import torch
from torch import nn

from deepgen_cli.engine import registry
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.probe_findings import monotone_finding, random_features_finding
from deepgen_cli.engine.probe_layers import discover, select
from deepgen_cli.engine.probe_reduce import MB, REDUCTIONS, probe_bytes
from deepgen_cli.engine.probe_run import Probed, cka_series, groups, prepare, score, train_probes
from deepgen_cli.results import Outcome


@dataclass(frozen=True)
class ProbeConfig:
    model: str = "cnn"
    weights: str | None = None  # local state_dict: probe this trained model post hoc
    untrained: bool = False  # probe the randomly initialized model post hoc (the paper's baseline)
    dataset: str = "digits"
    data_dir: str | None = None
    image_size: int | None = None  # resize side in pixels; None keeps the data set's
    subset: int | None = None  # train on this many examples
    epochs: int = 4  # model training epochs (training mode)
    snapshots: tuple[int, ...] | None = None  # epochs whose probes are scored; None: 1, middle, last
    batch_size: int = 64
    lr: float = 0.05  # the model's SGD learning rate (momentum 0.9)
    probe_epochs: int = 4  # passes over the data for post-hoc probes
    probe_lr: float = 0.02  # the probes' SGD learning rate (momentum 0.9), on standardized features
    layers: str | None = None  # comma-separated names or globs; None: every probe-able layer
    reduce: str = "auto"  # auto | none | subset | project | pool
    max_probe_mb: float = 64.0  # per probe: fp32 weights, momentum and gradient (a control probe doubles it)
    max_total_probe_mb: float = 1024.0  # probes trained at once; post hoc runs more passes beyond it
    control: bool = True  # a control-task probe per layer (random label per example) for selectivity
    cka_examples: int = 128  # test examples for linear CKA between consecutive layers; 0: none
    monotone_tolerance: float = 0.01  # a rise in test error up to this is noise, not an exception
    seed: int = 0

    @property
    def posthoc(self) -> bool:
        return self.weights is not None or self.untrained


@dataclass
class ProbeRow:
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
    probe_mb: float  # MiB of fp32 weights, momentum and gradient of the task probe
    full_probe_mb: float  # the same for a probe on every feature
    train_error: float | None
    test_error: float | None
    control_train_accuracy: float | None  # the control-task probe on the training examples
    selectivity: float | None  # task minus control train accuracy (Hewitt & Liang 2019)
    cka_prev: float | None  # linear CKA with the previous layer's probe input


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
    if config.weights is not None and config.untrained:
        raise UsageError("--untrained: cannot be combined with --weights; choose one model to probe")
    for s in snapshot_epochs(config):
        if not 1 <= s <= config.epochs:
            raise UsageError(f"--snapshots: epoch {s} is outside 1..{config.epochs} (--epochs)")
    if config.model not in registry.names():
        raise UsageError(f"--model: unknown model '{config.model}'; valid: {', '.join(registry.names())}")


def snapshot_epochs(config: ProbeConfig) -> tuple[int, ...]:
    if config.snapshots is not None:
        return tuple(sorted(set(config.snapshots)))
    return tuple(sorted({1, (config.epochs + 1) // 2, config.epochs}))


def load_data(config: ProbeConfig, in_channels: int):
    from deepgen_cli.engine import data as data_mod

    data = data_mod.load(data_mod.DataConfig(dataset=config.dataset, data_dir=config.data_dir,
                                             image_size=config.image_size, subset=config.subset, seed=config.seed))
    if data.in_channels == 1 and in_channels == 3:  # torchvision's stems take RGB: repeat the gray channel
        data = dataclasses.replace(data, x_train=data.x_train.repeat(1, 3, 1, 1),
                                   x_test=data.x_test.repeat(1, 3, 1, 1))
    return data


def build_model(config: ProbeConfig, data) -> nn.Module:
    torch.manual_seed(config.seed)  # the model's initial weights
    entry = registry.entry(config.model)
    kw = dict(in_channels=data.in_channels, num_classes=data.num_classes)
    if "image_size" in inspect.signature(entry.builder).parameters:  # torchvision's builders size themselves
        kw["image_size"] = data.image_size
    model = entry.builder(**kw)
    if config.weights is not None:
        from deepgen_cli.engine.loading import load_weights

        load_weights(model, config.weights)
    return model


def layer_plan(model: nn.Module, data, config: ProbeConfig, device) -> tuple[list[Probed], list[str]]:
    """Discovered layers, chosen by --layers, each with its reduction; plus notes on what was skipped."""
    try:
        layers, skipped = discover(model, data.x_train[:1].to(device))
    except RuntimeError as err:
        raise RunError(f"--model {config.model}: a forward pass on {tuple(data.x_train.shape[1:])} inputs failed "
                       f"({str(err).splitlines()[0]}); try --image-size") from None
    chosen = select(layers, config.layers)
    notes = []
    if skipped:
        notes.append(f"not probed (module runs more than once per forward): {', '.join(skipped[:8])}"
                     + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""))
    probed = prepare(chosen, data.num_classes, config.reduce, config.max_probe_mb, config.seed, device)
    over = [p.layer.name for p in probed
            if p.reduction.kind == "none" and probe_bytes(p.reduction.out_features, data.num_classes) > config.max_probe_mb * MB]
    if over:
        notes.append(f"--reduce none: probes over the {config.max_probe_mb:g} MiB budget at {', '.join(over)}")
    reduced = [p.layer.name for p in probed if p.reduction.kind != "none"]
    if reduced:
        notes.append(f"features reduced to fit {config.max_probe_mb:g} MiB per probe at {len(reduced)} layers")
    return probed, notes


def make_row(p: Probed, depth: int, label: str, epoch: int | None, classes: int, train, test, cka) -> ProbeRow:
    r = p.reduction
    ctrl = train.control_accuracy() if p.probe.control else None
    task_acc = None if train.error() is None else 1 - train.error()
    return ProbeRow(label, epoch, depth, p.layer.name, p.layer.kind, p.layer.type,
                    "x".join(str(s) for s in p.layer.shape), r.in_features, r.kind, r.out_features,
                    (r.out_features + 1) * classes, probe_bytes(r.out_features, classes) / MB,
                    probe_bytes(r.in_features, classes) / MB, train.error(), test.error(), ctrl,
                    None if ctrl is None or task_acc is None else task_acc - ctrl, cka)


def run(config: ProbeConfig, device: torch.device, session) -> Outcome:
    check(config)
    session.progress("loading data")
    data = load_data(config, registry.entry(config.model).in_channels)
    model = build_model(config, data).to(device)
    probed, notes = layer_plan(model, data, config, device)
    if config.posthoc:
        rows = run_posthoc(model, data, probed, config, device, session)
    else:
        rows = run_training(model, data, probed, config, device, session)
    return outcome(rows, config, notes)


def run_posthoc(model, data, probed: list[Probed], config: ProbeConfig, device, session) -> list[dict]:
    """Probe a frozen model: a few layers per pass, so probe memory stays within --max-total-probe-mb."""
    label = "untrained" if config.untrained else "trained"
    classes = data.num_classes
    kw = dict(classes=classes, control=config.control, batch_size=config.batch_size, seed=config.seed, device=device)
    depth = {p.layer.name: i for i, p in enumerate(probed)}
    session.progress("CKA between layers")
    cka = cka_series(model, probed, data.x_test[:config.cka_examples], device) if config.cka_examples else {}
    rows = []
    for group in groups(probed, classes, config.control, config.max_total_probe_mb):
        train_probes(model, group, data.x_train, data.y_train, epochs=config.probe_epochs, lr=config.probe_lr,
                     progress=session.progress, **kw)
        session.progress(f"scoring probes on {group[0].layer.name}..{group[-1].layer.name}")
        on_train = score(model, group, data.x_train, data.y_train, **kw)
        on_test = score(model, group, data.x_test, data.y_test, **kw)
        for p in group:
            name = p.layer.name
            row = make_row(p, depth[name], label, None, classes, on_train[name], on_test[name], cka.get(name))
            session.row(row)
            rows.append(dataclasses.asdict(row))
            p.probe = None  # free this group's probes before the next group's
    return rows


def run_training(model, data, probed: list[Probed], config: ProbeConfig, device, session) -> list[dict]:
    from deepgen_cli.engine.probe_train import train_with_probes

    return train_with_probes(model, data, probed, config, device, session, make_row)


def outcome(rows: list[dict], config: ProbeConfig, notes: list[str]) -> Outcome:
    snapshots: dict[str, list[dict]] = {}
    for row in rows:
        snapshots.setdefault(row["snapshot"], []).append(row)
    findings = []
    if rows:
        label, last = list(snapshots.items())[-1]
        if config.untrained:
            f = random_features_finding(last)
            findings += [f] if f else []
        elif len(last) > 1:
            findings.append(monotone_finding(last, config.monotone_tolerance, label))
    if config.control:
        notes.append("selectivity = probe train accuracy minus a control probe's on random per-example labels")
    analysis = {"snapshots": [{"snapshot": k, "layers": [r["layer"] for r in v],
                               "train_error": [r["train_error"] for r in v], "test_error": [r["test_error"] for r in v]}
                              for k, v in snapshots.items()]}
    return Outcome(findings, notes, analysis)
