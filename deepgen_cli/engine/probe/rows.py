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
    KEY: ClassVar[tuple[str, ...]] = ("seed", "snapshot", "layer")  # --resume's and report's

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
    # The converged probe's (control.py: the exact ridge least-squares optimum on the layer's training features,
    # read through a sketch when wider than the fit's budget): what the verdicts read.
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
    probe_converged: bool | None = None  # the converged probe's solve met its residual test (control.RESIDUAL_TOL)
    fit_residual: float | None = None  # its relative residual ||A w - b|| / ||b||
    fit_rank: int | None = None  # numerical rank of its sketch, where the sketch is narrower than the training set
    # The SGD probe (the paper's: trained alongside the model, one step per model step, or post hoc for
    # --probe-epochs at one --probe-lr whatever the width), kept beside the optimum: on wide layers it stops far
    # from it.
    sgd_train_error: float | None = None
    sgd_test_error: float | None = None
    seed: int = 0  # the model's seed (--repeats: seed, seed + 1, ...)
    model_test_accuracy: float | None = None  # the network's own test accuracy at this snapshot


def make_row(p: Probed, depth: int, label: str, epoch: int | None, classes: int, train, test, cka,
             control: ControlFit | None = None, *, seed: int = 0, model_accuracy: float | None = None) -> ProbeRow:
    """A row from the SGD probe's tallies (`train`, `test`; None where no SGD probe ran) and the converged fit."""
    r = p.reduction
    sgd_train = None if train is None else train.error()
    sgd_test = None if test is None else test.error()
    right = test.correct().tolist() if test is not None else []
    ctrl, fitted, selectivity, width, converged, residual, rank = None, None, None, None, None, None, None
    train_error, test_error = sgd_train, sgd_test
    if control is not None:
        ctrl, fitted, width = control.control_accuracy, control.task_accuracy, control.features
        converged, residual, rank = control.converged, control.residual, control.rank
        selectivity = None if ctrl is None else task_minus_control(fitted, ctrl)
        train_error = 1 - fitted
        if control.test_correct is not None:
            right = control.test_correct.tolist()
            test_error = 1 - sum(right) / len(right) if right else None
    return ProbeRow(label, epoch, depth, p.layer.name, p.layer.kind, p.layer.type,
                    "x".join(str(s) for s in p.layer.shape), r.in_features, r.kind, r.out_features,
                    (r.out_features + 1) * classes, probe_bytes(r.out_features, classes) / MB,
                    probe_bytes(r.in_features, classes) / MB, train_error, test_error, ctrl, selectivity, cka,
                    fitted, width, {"examples": len(right), "hex": pack_outcomes(right)} if right else None,
                    converged, residual, rank, sgd_train, sgd_test, seed, model_accuracy)


def resumed_row(session, label: str, layer: str, seed: int) -> ProbeRow | None:
    """The row of an earlier run with this config (--resume) for this seed, snapshot and layer, if any."""
    old = session.resumed(**row_key(ProbeRow, (seed, label, layer)))
    return None if old is None else row_from(ProbeRow, old)
