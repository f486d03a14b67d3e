"""`probe-transfer`: are the first layers general and the last specific (Alain & Bengio 2016, quoting Yosinski
et al. 2014)? Train a network on the first half of the classes, then fit a closed-form linear probe (the probe
package's exact least-squares fit, control.py) on every layer twice: on the network's own classes and on the other
half, which it never saw; each probe is scored on the test images of its classes. The controls train on all the
classes, or not at all (--trained-on all, none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import models, train
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, DataConfig, RunOptions, TrainOptions,
                                       opt)
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.probe import MAX_PROBE_MB, MAX_TOTAL_PROBE_MB
from deepgen_cli.engine.probe.control import fit_controls
from deepgen_cli.engine.probe.inputs import feed
from deepgen_cli.engine.probe.layers import discover
from deepgen_cli.engine.probe.passes import prepare
from deepgen_cli.engine.probe_transfer.findings import findings
from deepgen_cli.engine.sweep import plan_rows, row_from

TRAINED_ON = opt("--trained-on", choices=("half", "all", "none"),
                 help="half: the network learns the first half of the classes (the claim); all: every class (a "
                      "control); none: left at its initial weights (a control).")


@dataclass(frozen=True, kw_only=True)
class TransferConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("cnn")  # a registry model tagged trainable; cnn: two conv blocks, 8 probed layers
    trained_on: str = TRAINED_ON("half")
    epochs: int = EPOCHS(10)  # cnn on half of digits: about 99% test accuracy on its 5 classes
    batch_size: int = BATCH_SIZE(64)
    lr: float = LR(0.05)  # probe's
    max_probe_mb: float = MAX_PROBE_MB(64.0)  # bounds each closed-form fit (16 B x features^2), as in probe
    max_total_probe_mb: float = MAX_TOTAL_PROBE_MB(1024.0)
    repeats: int = REPEATS(3)  # seeds (initial weights, batch order); the verdicts are paired over them

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "probe-transfer scores the trained network once"}
        if self.trained_on == "none":
            out.update({n: "--trained-on none trains nothing" for n in ("epochs", "lr", "momentum", "weight_decay",
                                                                          "lr_schedule")})
        return out

    def check(self) -> None:
        super().check()
        models.entry(self.model, "--model", tag="trainable")
        if self.dataset == "synthetic" and self.synthetic_classes < 4:
            raise UsageError(f"--synthetic-classes: probe-transfer splits the classes in two halves of 2 or more; "
                             f"must be 4 or more, got {self.synthetic_classes}")
        data_mod.check(data_mod.config_for(self))


@dataclass
class TransferRow:
    KEY: ClassVar[tuple[str, ...]] = ("network", "seed", "layer")  # --resume's and report's

    network: str  # what it was trained on: half | all | none
    seed: int
    depth: int  # 0: the input
    layer: str
    kind: str  # input | conv | activation | pool | linear | block (probe.layers.kind_of)
    features: int  # the layer's output width (the fit reads a sketch of it when wider than the budget allows)
    own_accuracy: float  # probe on the first half of the classes, test images of those classes
    other_accuracy: float  # probe on the second half (never trained on unless --trained-on all)
    gap: float  # own - other
    converged: bool  # both fits (control.py's convergence test)
    network_accuracy: float | None  # the network's own test accuracy on the classes it learned; None untrained


def halves(data: data_mod.Dataset) -> tuple[data_mod.Dataset, data_mod.Dataset]:
    """The first k // 2 classes and the next k // 2 (an odd last class left out), each relabelled from 0."""
    h = data.num_classes // 2

    def part(lo: int) -> data_mod.Dataset:
        tr = (data.y_train >= lo) & (data.y_train < lo + h)
        te = (data.y_test >= lo) & (data.y_test < lo + h)
        return data_mod.Dataset(f"{data.name}[{lo}..{lo + h - 1}]", data.x_train[tr], data.y_train[tr] - lo,
                                data.x_test[te], data.y_test[te] - lo, h)
    return part(0), part(h)


def one_seed(config: TransferConfig, data, own, other, seed: int, device, session, label: str
             ) -> tuple[list[TransferRow], bool]:
    """This seed's rows, and whether they came from the run --resume continues (all of a seed's, or none)."""
    learned = data if config.trained_on == "all" else own
    torch.manual_seed(seed)
    model = models.create(config.model, in_channels=data.in_channels, image_size=data.image_size,
                          num_classes=learned.num_classes).to(device)
    try:
        layers, _ = discover(model, data.x_train[:1].to(device))
    except RuntimeError as err:
        raise RunError(f"--model {config.model}: a forward pass failed ({str(err).splitlines()[0]}); "
                       f"try --image-size") from None
    earlier = [session.resumed(network=config.trained_on, seed=seed, layer=layer.name) for layer in layers]
    if all(earlier):
        return [row_from(TransferRow, r) for r in earlier], True
    accuracy = None
    if config.trained_on != "none":
        train.train(model, learned, train.TrainConfig.of(config, seed=seed), device,
                    on_epoch=lambda s: session.progress(f"{label}: epoch {s.epoch}/{config.epochs}"))
        accuracy = train.evaluate(model, learned.x_test, learned.y_test, device).accuracy
    fed = feed(model, data, data.image_size, data.in_channels).to(device)
    probed = prepare(layers, own.num_classes, "auto", config.max_probe_mb, seed, device)
    kw = dict(classes=own.num_classes, seed=seed, batch_size=config.batch_size, budget_mb=config.max_probe_mb,
              total_mb=config.max_total_probe_mb, device=device, control=False)
    fits = [fit_controls(fed, probed, d.x_train, d.y_train, x_test=d.x_test, y_test=d.y_test,
                         progress=session.progress, **kw) for d in (own, other)]
    rows = []
    for i, p in enumerate(probed):
        a, b = (f[p.layer.name] for f in fits)
        acc_a, acc_b = (float(f.test_correct.float().mean()) for f in (a, b))
        rows.append(TransferRow(config.trained_on, seed, i, p.layer.name, p.layer.kind, a.layer_features, acc_a, acc_b,
                                acc_a - acc_b, a.converged and b.converged, accuracy))
    return rows, False


def run(config: TransferConfig, device, session):
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        own, other = halves(data)
        if min(len(own.y_train), len(other.y_train), len(own.y_test), len(other.y_test)) == 0:
            raise RunError("probe-transfer: a half of the classes has no training or test image; raise --subset")
        rows = []
        for i in range(config.repeats):
            seed = config.seed + i
            label = f"[{i + 1}/{config.repeats}] seed {seed}"
            session.progress(label)
            new, reused = one_seed(config, data, own, other, seed, device, session, label)
            if i == 0:
                plan_rows(session, len(new) * config.repeats)
            session.add_rows(new, reused)
            rows += new
        session.progress("checking the published claims")
        return findings(rows, config, own.num_classes)
