"""probe-transfer's engine: each seed's network trained on half the classes, probed on both halves."""

from __future__ import annotations

import torch

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import models, train
from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.probe.control import fit_controls
from deepgen_cli.engine.probe.inputs import feed
from deepgen_cli.engine.probe.layers import discover
from deepgen_cli.engine.probe.passes import prepare
from deepgen_cli.engine.probe_transfer.config import TransferConfig, TransferRow
from deepgen_cli.engine.probe_transfer.findings import findings
from deepgen_cli.engine.sweep import plan_rows, row_from
from deepgen_cli.engine.runs import loaded


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
    with loaded(config, session) as (config, data):
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
