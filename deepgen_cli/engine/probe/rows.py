"""A probe run's rows: one per (snapshot, layer), built from its probes' tallies or taken from an earlier
run with the same config (--resume)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine.probe.control import ControlFit
from deepgen_cli.engine.probe.metrics import selectivity as task_minus_control
from deepgen_cli.engine.probe.passes import Probed
from deepgen_cli.engine.probe.reduce import MB, probe_bytes
from deepgen_cli.engine.stats import pack_outcomes
from deepgen_cli.engine.sweep import row_from, row_key


@dataclass
class ProbeRow:
    KEY: ClassVar[tuple[str, ...]] = ("snapshot", "layer")  # --resume's and report's

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
    control_train_accuracy: float | None  # a control-task probe fit to convergence, on the training examples
    selectivity: float | None  # a task probe fit the same way minus the control's train accuracy (Hewitt & Liang)
    cka_prev: float | None  # unbiased linear CKA with the previous layer's probe input
    fitted_train_accuracy: float | None = None  # that converged task probe's train accuracy
    control_features: int | None = None  # features the converged fits read (a sketch when < probe_features)
    # Which test examples the probe got right, for paired tests between layers: {"examples": n, "hex": bits
    # packed 8 to a byte, first example lowest} (stats.unpack_outcomes); a dict, so CSV leaves it out.
    test_correct: dict | None = None


def make_row(p: Probed, depth: int, label: str, epoch: int | None, classes: int, train, test, cka,
             control: ControlFit | None = None) -> ProbeRow:
    r = p.reduction
    right = test.correct().tolist()
    ctrl, fitted, selectivity, width = None, None, None, None
    if control is not None:
        ctrl, fitted, width = control.control_accuracy, control.task_accuracy, control.features
        selectivity = task_minus_control(fitted, ctrl)
    return ProbeRow(label, epoch, depth, p.layer.name, p.layer.kind, p.layer.type,
                    "x".join(str(s) for s in p.layer.shape), r.in_features, r.kind, r.out_features,
                    (r.out_features + 1) * classes, probe_bytes(r.out_features, classes) / MB,
                    probe_bytes(r.in_features, classes) / MB, train.error(), test.error(), ctrl, selectivity, cka,
                    fitted, width, {"examples": len(right), "hex": pack_outcomes(right)} if right else None)


def resumed_row(session, label: str, layer: str) -> ProbeRow | None:
    """The row of an earlier run with this config (--resume) for this snapshot and layer, if any."""
    old = session.resumed(**row_key(ProbeRow, (label, layer)))
    return None if old is None else row_from(ProbeRow, old)
