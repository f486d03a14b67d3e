"""The further seeds of a probe run (--repeats): the model trained again from seed + 1, seed + 2, ... (or left at
those initial weights, --untrained), with every layer's probe fit to its optimum at the last snapshot, on the same
data: what the verdicts pool over, so that one seed cannot flip them. The SGD probes, the control task and CKA are
the first seed's only (they are not what the verdicts read)."""

from __future__ import annotations

import dataclasses

from deepgen_cli.engine.probe.alongside import converged_fits, model_accuracy, train_config
from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.passes import Probed
from deepgen_cli.engine.probe.rows import make_row, resumed_row


def seed_rows(fed: Fed, data, probed: list[Probed], config, device, session) -> list[dict]:
    """Rows of one further seed (config.seed is that seed; fed holds its model at its initial weights)."""
    from deepgen_cli.engine import train

    label = "untrained" if config.untrained else f"epoch {max(config.snapshot_epochs())}"
    epoch = None if config.untrained else max(config.snapshot_epochs())
    old = [resumed_row(session, label, p.layer.name, config.seed) for p in probed]
    if not all(old):
        if not config.untrained:
            session.progress(f"seed {config.seed}: training")
            train.train(fed, data, train_config(config, epoch), device)
        fits = converged_fits(fed, probed, data, config, device, session.progress, control=False)
        accuracy = None if config.untrained else model_accuracy(fed, data, device)
        old = [make_row(p, depth, label, epoch, data.num_classes, None, None, None, fits[p.layer.name],
                        seed=config.seed, model_accuracy=accuracy) for depth, p in enumerate(probed)]
    rows = []
    for row in old:
        session.row(row)
        rows.append(dataclasses.asdict(row))
    return rows
