"""probe-transfer: the first layers general, the last specific, judged on hand-made rows whose numbers can be
checked by hand; the class halves; one tiny run of the engine."""

import pytest
import torch

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.probe_transfer import TransferConfig, TransferRow, halves, run
from deepgen_cli.engine.probe_transfer.findings import findings
from tests.sessions import Recorder

LAYERS = [("input", "input"), ("0", "linear"), ("1", "activation"), ("2", "linear"), ("3", "activation"),
          ("4", "linear")]


def rows(gaps: dict, network: str = "half", accuracy: float = 0.95, converged: bool = True) -> list:
    """gaps: layer -> per-seed gap (own - other); own accuracy 0.95 everywhere."""
    return [TransferRow(network, s, d, name, kind, 10, 0.95, 0.95 - g, g, converged, accuracy)
            for d, (name, kind) in enumerate(LAYERS) for s, g in enumerate(gaps[name])]


def config(**kw):
    return TransferConfig(model="mlp1x512", repeats=3, **kw)


def gaps(first, last):
    return {"input": [0.02, 0.03, 0.02], "0": [0.02, 0.03, 0.02], "1": first, "2": last, "3": last,
            "4": [0.5, 0.5, 0.5]}


def test_a_last_layer_that_falls_off_with_a_first_that_stays_near_is_a_yes():
    # specificity of layer 3 (last hidden): 0.20, 0.21, 0.22 (mean 0.21 ± 0.025 > 0.05); of layer 1 (first
    # activation): 0.0, 0.01, 0.0, whose one-sided upper bound 0.0033 + 2.92 * 0.0058 / sqrt 3 = 0.013 < 0.05
    found = findings(rows(gaps([0.02, 0.04, 0.02], [0.22, 0.24, 0.24])), config(), 5)
    (f,) = found.findings
    assert f.reproduced is True and found.analysis["first"]["layer"] == "1" and found.analysis["last"]["layer"] == "3"
    assert found.analysis["last"]["specificity"] == pytest.approx(0.21)


def test_transfer_that_stays_near_is_a_no_and_an_untrained_or_unconverged_one_cannot_tell():
    near = gaps([0.02, 0.03, 0.02], [0.03, 0.03, 0.02])
    assert findings(rows(near), config(), 5).findings[0].reproduced is False
    specific_early = gaps([0.22, 0.24, 0.24], [0.22, 0.24, 0.24])  # the first layer already 21 points off
    assert findings(rows(specific_early), config(), 5).findings[0].reproduced is False
    (f,) = findings(rows(near, accuracy=0.4), config(), 5).findings  # under the 60% floor on 5 classes
    assert f.reproduced is None and "did not train" in f.reason
    (f,) = findings(rows(near, converged=False), config(), 5).findings
    assert f.reproduced is None and "did not converge" in f.reason
    wide = gaps([0.02, 0.03, 0.02], [0.0, 0.30, 0.10])  # falloff 0.12 ± 0.37: wider than the margin
    assert findings(rows(wide), config(), 5).findings[0].reproduced is None


def test_the_halves_are_the_first_and_second_k_over_2_classes_relabelled_from_0():
    y = torch.tensor([0, 1, 2, 3, 4, 4])
    x = torch.arange(6.0).view(6, 1, 1, 1)
    d = data_mod.Dataset("toy", x, y, x, y, 5)  # 5 classes: halves of 2, class 4 left out
    a, b = halves(d)
    assert a.y_train.tolist() == [0, 1] and b.y_train.tolist() == [0, 1] and b.x_train.flatten().tolist() == [2.0, 3.0]
    assert a.num_classes == b.num_classes == 2
    with pytest.raises(UsageError, match="--synthetic-classes"):
        TransferConfig(dataset="synthetic", synthetic_classes=3).check()



def test_a_tiny_run_probes_every_layer_for_both_halves_with_converged_fits():
    s = Recorder()
    run(TransferConfig(model="mlp1x512", epochs=1, subset=200, repeats=2), "cpu", s)
    # mlp1x512: input, flatten is not probed; linear, relu, linear output: 4 layers, 2 seeds
    assert [r.layer for r in s.rows[:4]] == ["input", "1", "2", "3"] and len(s.rows) == 8
    assert all(r.converged for r in s.rows) and all(0 <= r.other_accuracy <= 1 for r in s.rows)
    # the input's probe sees no network: the same pixels, so the same accuracies at both seeds
    assert s.rows[0].own_accuracy == s.rows[4].own_accuracy and s.rows[0].gap == s.rows[4].gap


def controlled(control):
    from tests.sessions import Recorder

    return [f for f in run(TransferConfig(**control.overrides), "cpu", Recorder()).findings
            if f.claim.startswith(control.claims)]


@pytest.mark.usefixtures("one_thread")
def test_an_untrained_network_is_as_general_in_its_last_layer_as_in_its_first():
    from deepgen_cli.engine.probe_transfer.controls import CONTROLS

    (f,) = controlled(CONTROLS[1])
    # measured: specificity -0.8 ± 1.7 points (first activation), -1.1 ± 2.3 (last hidden): under the 5-point margin
    assert f.reproduced is False and "0.2 " in f.measured and "last hidden layer 3 " in f.measured


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_a_network_trained_on_all_the_classes_has_no_unseen_half_to_fall_off_on():
    from deepgen_cli.engine.probe_transfer.controls import CONTROLS

    (f,) = controlled(CONTROLS[0])
    assert f.reproduced is False  # measured: -2.6 ± 0.6 points at the last hidden layer
