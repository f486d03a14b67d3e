"""A probe run's rows: one per (snapshot, layer), built from its probes' tallies or taken from an earlier
run with the same config (--resume)."""

from __future__ import annotations

from dataclasses import dataclass

from deepgen_cli.engine.probe.passes import Probed
from deepgen_cli.engine.probe.reduce import MB, probe_bytes


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
    probe_mib: float  # MiB of fp32 weights, momentum and gradient of the task probe
    full_probe_mib: float  # the same for a probe on every feature
    train_error: float | None
    test_error: float | None
    control_train_accuracy: float | None  # the control-task probe on the training examples
    selectivity: float | None  # task minus control train accuracy (Hewitt & Liang 2019)
    cka_prev: float | None  # linear CKA with the previous layer's probe input


def make_row(p: Probed, depth: int, label: str, epoch: int | None, classes: int, train, test, cka) -> ProbeRow:
    r = p.reduction
    ctrl = train.control_accuracy() if p.probe.control else None
    task_acc = None if train.error() is None else 1 - train.error()
    return ProbeRow(label, epoch, depth, p.layer.name, p.layer.kind, p.layer.type,
                    "x".join(str(s) for s in p.layer.shape), r.in_features, r.kind, r.out_features,
                    (r.out_features + 1) * classes, probe_bytes(r.out_features, classes) / MB,
                    probe_bytes(r.in_features, classes) / MB, train.error(), test.error(), ctrl,
                    None if ctrl is None or task_acc is None else task_acc - ctrl, cka)


def resumed_row(session, label: str, layer: str) -> ProbeRow | None:
    """The row of an earlier run with this config (--resume) for this snapshot and layer, if any."""
    old = session.resumed(snapshot=label, layer=layer)
    return None if old is None else ProbeRow(**{k: old.get(k) for k in ProbeRow.__dataclass_fields__})
