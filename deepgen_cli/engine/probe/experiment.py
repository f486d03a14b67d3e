"""probe's engine: the model trained with probes alongside, or probed post hoc, one row per layer."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from deepgen_cli.engine import models
from deepgen_cli.engine.models import user
from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.probe.config import ProbeConfig, ProbeRow  # noqa: F401  (ProbeRow: this command's row type)
from deepgen_cli.engine.probe.inputs import Fed, feed, load_data
from deepgen_cli.engine.probe.alongside import train_with_probes
from deepgen_cli.engine.probe.findings import findings
from deepgen_cli.engine.probe.posthoc import run_posthoc
from deepgen_cli.engine.probe.repeats import seed_rows
from deepgen_cli.engine.sweep import plan_rows
from deepgen_cli.engine.probe.rows import make_row
from deepgen_cli.engine.probe.layers import discover, select
from deepgen_cli.engine.probe.reduce import MB, probe_bytes
from deepgen_cli.engine.probe.passes import Probed, prepare
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome


def build_model(config: ProbeConfig, channels: int, side: int, classes: int) -> nn.Module:
    torch.manual_seed(config.seed)  # the model's initial weights
    if config.model_file:
        model = user.build(config.model_file, in_channels=channels, num_classes=classes, image_size=side)
    else:
        model = models.create(config.model, in_channels=channels, num_classes=classes, image_size=side)
    if config.weights is not None:
        from deepgen_cli.engine.models.loading import load_weights

        load_weights(model, config.weights)
    return model


def prepare_run(config: ProbeConfig, device) -> tuple[Fed, object]:
    """The model (seeded, or loaded from --weights) with its per-batch input map, and the data set."""
    # a network from a file takes the data's channels (its factory is given in_channels where it takes them)
    wants = None if config.model_file else models.entry(config.model).in_channels
    data, side, channels = load_data(config, wants)
    model = build_model(config, channels, side, data.num_classes)
    return feed(model, data, side, channels).to(device), data


def layer_plan(fed: Fed, data, config: ProbeConfig, device) -> tuple[list[Probed], list[str]]:
    """Discovered layers, chosen by --layers, each with its reduction; plus notes on what was skipped."""
    example = fed.inputs(data.x_train[:1].to(device))
    try:
        layers, skipped = discover(fed.model, example)
    except RuntimeError as err:
        flag = "--model-file" if config.model_file else "--model"
        raise RunError(f"{flag} {config.network}: a forward pass on {tuple(example.shape[1:])} inputs failed "
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


