"""Training mode: the shared training engine trains the model; hooks copy each layer's (detached, reduced)
features out of the training forward into one buffer, and one bank of probes takes its own SGD step
after every model step.
"""

from __future__ import annotations

import dataclasses

import torch

from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.probe_data import Fed
from deepgen_cli.engine.probe_heads import ProbeBank, Tally
from deepgen_cli.engine.probe_layers import INPUT, tap
from deepgen_cli.engine.probe_metrics import control_labels
from deepgen_cli.engine.probe_reduce import MB
from deepgen_cli.engine.probe_run import Probed, batches, cka_series, collect


def _in_training_forward(module) -> bool:
    # Only the model's own training forward: not evaluate() (inference mode) nor a snapshot's scoring.
    return module.training and torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def train_config(config, epochs: int | None = None):
    """The model's training: SGD with momentum 0.9 at a constant rate, so its first epochs do not depend on
    how many follow (a --resume that needs fewer epochs trains them exactly as the full run did)."""
    from deepgen_cli.engine import train

    return train.TrainConfig(epochs=epochs or config.epochs, batch_size=config.batch_size, lr=config.lr,
                             momentum=0.9, lr_decay=1.0, seed=config.seed)


def train_with_probes(fed: Fed, data, probed: list[Probed], config, device, session, make_row) -> list[dict]:
    """Train the model with train.train; probes learn alongside and are scored at the snapshot epochs.

    With --resume, snapshots whose rows all exist are taken from the earlier run and training stops after
    the last snapshot that still needs scoring (training is deterministic for a seed and device).
    """
    from deepgen_cli.engine import train
    from deepgen_cli.engine.probe import resumed_row, snapshot_epochs

    classes = data.num_classes
    snapshots = snapshot_epochs(config)
    kept = {}  # snapshot epoch -> the earlier run's rows, for snapshots complete there
    for s in snapshots:
        old = [resumed_row(session, f"epoch {s}", p.layer.name) for p in probed]
        if all(old):
            kept[s] = old
    rows: list[dict] = []

    def emit(row) -> None:
        session.row(row)
        rows.append(dataclasses.asdict(row))

    missing = [s for s in snapshots if s not in kept]
    if snapshots and not missing:
        for s in snapshots:
            for row in kept[s]:
                emit(row)
        return rows
    last = max(missing, default=config.epochs)  # no snapshots at all (a benchmark): every epoch
    # Every probe at once, and one batch's reduced features of every layer (fp32) for their step.
    probes = sum(p.bytes(classes, config.control) for p in probed)
    features = config.batch_size * sum(p.reduction.out_features for p in probed) * 4
    if probes + features > config.max_total_probe_mb * MB:
        raise RunError(f"--max-total-probe-mb: probes alongside training need {(probes + features) / MB:.0f} MiB "
                       f"together ({probes / MB:.0f} MiB of probes, {features / MB:.0f} MiB of one batch's "
                       f"features); raise it, lower --max-probe-mb or --batch-size, or choose fewer --layers")
    bank = ProbeBank([p.reduction.out_features for p in probed], classes, config.control, config.probe_lr, device)
    slots = {}  # layer name -> (start, width) in the step's feature buffer
    for i, p in enumerate(probed):
        p.probe = bank
        slots[p.layer.name] = (bank.offsets[i], p.reduction.out_features)
    by_name = {p.layer.name: p for p in probed}
    hooked = [n for n in by_name if n != INPUT]
    step_buffer = {}  # "x": this step's (B, sum of widths) features; "filled": layers written

    def buffer(n: int, dev) -> torch.Tensor:
        if "x" not in step_buffer:
            step_buffer["x"] = torch.empty(n, sum(bank.dims), device=dev)
            step_buffer["filled"] = set()
        return step_buffer["x"]

    def keep(name: str, out) -> None:
        start, width = slots[name]
        # A copy into the buffer: an in-place ReLU after this layer may overwrite `out`.
        by_name[name].reducer(out, buffer(out.shape[0], out.device)[:, start:start + width])
        step_buffer["filled"].add(name)

    def on_step(step: int, epoch: int, xb: torch.Tensor, yb: torch.Tensor) -> None:
        if INPUT in slots:
            keep(INPUT, fed.inputs(xb))
        x, filled = step_buffer.pop("x", None), step_buffer.pop("filled", set())
        if x is None or len(filled) != len(probed) or x.shape[0] != yb.shape[0]:
            raise RunError(f"probe: the training forward of step {step} did not reach every probed layer")
        y_ctrl = control_labels(xb, classes, config.seed) if config.control else None
        bank.step(x, yb, y_ctrl)

    def on_epoch(stats) -> None:
        session.progress(f"epoch {stats.epoch}/{config.epochs}: train accuracy {stats.train_accuracy:.3f}")
        if stats.epoch in kept:
            for row in kept[stats.epoch]:
                emit(row)
            return
        if stats.epoch not in snapshots:
            return
        session.progress(f"epoch {stats.epoch}: scoring probes")
        on_train = score_bank(fed, probed, bank, data.x_train, data.y_train, config, device)
        on_test = score_bank(fed, probed, bank, data.x_test, data.y_test, config, device)
        cka = cka_series(fed, probed, data.x_test[:config.cka_examples], device) if config.cka_examples else {}
        for depth, p in enumerate(probed):
            emit(make_row(p, depth, f"epoch {stats.epoch}", stats.epoch, classes, on_train[depth], on_test[depth],
                          cka.get(p.layer.name)))

    with tap(fed.model, hooked, keep, when=_in_training_forward):
        train.train(fed, data, train_config(config, last), device, on_epoch=on_epoch, on_step=on_step)
    for s in snapshots:
        if s > last:
            for row in kept[s]:
                emit(row)
    return rows


def score_bank(fed: Fed, probed: list[Probed], bank: ProbeBank, x, y, config, device) -> list[Tally]:
    """Each probe's task errors and control accuracy on (x, y), the model in eval mode, batch by batch."""
    tallies = [Tally() for _ in probed]
    y_ctrl = control_labels(x, bank.classes, config.seed) if config.control else None
    was_training = fed.training
    fed.eval()
    try:
        with torch.no_grad():
            for idx in batches(len(x), config.batch_size, None):
                feats = collect(fed, probed, x[idx].to(device))
                counts = bank.correct(feats, y[idx].to(device), y_ctrl[idx].to(device) if config.control else None)
                for tally, c in zip(tallies, counts):
                    tally.add(c, len(idx))
    finally:
        fed.train(was_training)
    return tallies
