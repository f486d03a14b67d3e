"""A probe run's rows: one per (snapshot, layer), built from its probes' tallies or taken from an earlier
run with the same config (--resume)."""

from __future__ import annotations

from deepgen_cli.engine.probe.config import ProbeRow  # noqa: F401  (declared torch-free: report reads it)
from deepgen_cli.engine.probe.control import ControlFit
from deepgen_cli.engine.probe.metrics import selectivity as task_minus_control
from deepgen_cli.engine.probe.passes import Probed
from deepgen_cli.engine.probe.reduce import MB, probe_bytes
from deepgen_cli.engine.stats import pack_outcomes
from deepgen_cli.engine.sweep import row_from, row_key


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
