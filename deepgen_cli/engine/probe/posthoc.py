"""Post hoc: probe a frozen model (loaded with --weights, or untrained) a few layers per pass, so probe
memory stays within --max-total-probe-mb."""

from __future__ import annotations

import dataclasses

from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.alongside import converged_fits, model_accuracy
from deepgen_cli.engine.probe.passes import Probed, cka_series, groups, score, train_probes
from deepgen_cli.engine.probe.rows import make_row, resumed_row


def run_posthoc(fed: Fed, data, probed: list[Probed], config, device, session) -> list[dict]:
    """Probe a frozen model: a few layers per pass, so probe memory stays within --max-total-probe-mb."""
    label = "untrained" if config.untrained else "trained"
    classes = data.num_classes
    kw = dict(batch_size=config.batch_size, device=device)
    depth = {p.layer.name: i for i, p in enumerate(probed)}
    kept = {p.layer.name: resumed_row(session, label, p.layer.name, config.seed) for p in probed}
    accuracy = None if config.untrained or not any(row is None for row in kept.values()) else \
        model_accuracy(fed, data, device)
    cka = {}
    if config.cka_examples and any(row is None for row in kept.values()):
        session.progress("CKA between layers")
        cka = cka_series(fed, probed, data.x_test[:config.cka_examples], device)
    rows = []
    for group in groups(probed, lambda p: p.bytes(classes), config.max_total_probe_mb):
        fresh = [p for p in group if kept[p.layer.name] is None]
        if fresh:
            train_probes(fed, fresh, data.x_train, data.y_train, classes=classes, epochs=config.probe_epochs,
                         lr=config.probe_lr, seed=config.seed, progress=session.progress, **kw)
            session.progress(f"scoring probes on {fresh[0].layer.name}..{fresh[-1].layer.name}")
            on_train = score(fed, fresh, data.x_train, data.y_train, **kw)
            on_test = score(fed, fresh, data.x_test, data.y_test, **kw)
            for p in group:
                p.probe = None  # free this group's probes before the control fits and the next group's probes
            controls = converged_fits(fed, fresh, data, config, device, session.progress, control=config.control)
        for p in group:
            name = p.layer.name
            row = kept[name] or make_row(p, depth[name], label, None, classes, on_train[name], on_test[name],
                                         cka.get(name), controls.get(name),
                                         seed=config.seed, model_accuracy=accuracy)
            session.row(row)
            rows.append(dataclasses.asdict(row))
    return rows
