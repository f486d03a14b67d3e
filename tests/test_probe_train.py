"""Probes trained alongside the model: the model's training is bit-for-bit the same with or without them."""

import pytest
import torch

from deepgen_cli.engine import models, train
from deepgen_cli.engine.data import DataConfig, load
from deepgen_cli.engine.probe import ProbeConfig, layer_plan, make_row
from deepgen_cli.engine.probe.findings import findings as outcome
from deepgen_cli.engine.probe.inputs import feed
from deepgen_cli.engine.probe.alongside import train_config, train_with_probes
from tests.sessions import Recorder


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_data():
    return load(DataConfig(dataset="synthetic", synthetic_examples=(96, 48), synthetic_classes=4, seed=1))


def fresh_model():
    torch.manual_seed(0)
    # Dropout draws from the global RNG on every training step: a probe that drew from it would show.
    return models.create("cnn", in_channels=1, image_size=8, num_classes=4, width=8, dropout=0.5)


def test_probes_alongside_leave_the_trained_weights_bit_for_bit_identical():
    data = tiny_data()
    config = ProbeConfig(epochs=2, snapshots=(1, 2), batch_size=16, cka_examples=20, seed=3)
    plain = fresh_model()
    train.train(plain, data, train_config(config), "cpu")
    rng_plain = torch.get_rng_state()

    probed_model = fresh_model()
    fed = feed(probed_model, data, 8, 1)
    probed, _ = layer_plan(fed, data, config, "cpu")
    session = Recorder()
    rows = train_with_probes(fed, data, probed, config, "cpu", session, make_row)
    assert torch.equal(torch.get_rng_state(), rng_plain)  # the probes drew nothing from the global RNG
    a, b = plain.state_dict(), probed_model.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)  # batch-norm statistics too
    layers = ["input", "0.0", "0.2", "1", "2.0", "2.2", "3", "6"]
    assert [r["layer"] for r in rows] == layers * 2
    assert [r["snapshot"] for r in rows] == ["epoch 1"] * 8 + ["epoch 2"] * 8
    assert len(session.rows) == 16
    assert all(0 <= r["test_error"] <= 1 and 0 <= r["train_error"] <= 1 for r in rows)
    assert rows[9]["cka_prev"] is not None and rows[8]["cka_prev"] is None
    # the control fits ran at both snapshots, on the frozen model, between its epochs
    assert all(0 <= r["control_train_accuracy"] <= 1 and r["control_features"] == r["probe_features"] for r in rows)


def test_probes_alongside_learn_the_task():
    data = tiny_data()
    config = ProbeConfig(epochs=3, snapshots=(3,), batch_size=16, cka_examples=0, control=False)
    fed = feed(fresh_model(), data, 8, 1)
    probed, notes = layer_plan(fed, data, config, "cpu")
    rows = train_with_probes(fed, data, probed, config, "cpu", Recorder(), make_row)
    # Synthetic classes are Gaussian blobs around class means: the input is almost linearly separable.
    assert rows[0]["layer"] == "input" and rows[0]["train_error"] <= 0.05 and rows[0]["sgd_train_error"] <= 0.05
    assert all(r["probe_converged"] and r["fit_residual"] < 1e-6 for r in rows)
    assert all(r["selectivity"] is None and r["control_train_accuracy"] is None for r in rows)
    result = outcome(rows, config, notes, len(data.y_test))
    assert [f.claim.split(" (")[0] for f in result.findings] == [
        "Linear probe error decreases with depth in a trained network", "The last layer's probe beats the first's in "
        "a trained network", "Linear probe error never rises by more than 1 point from one layer to the next in a "
        "trained network"]
    assert all(r["test_correct"]["examples"] == 48 for r in rows)  # what the paired tests read
    assert result.analysis["snapshots"][0]["snapshot"] == "epoch 3"


def test_wide_layers_stepping_inside_their_hooks_learn_what_the_shared_bank_learns(monkeypatch):
    from deepgen_cli.engine.probe import alongside as probe_train

    data = tiny_data()
    config = ProbeConfig(model="mlp1x512", epochs=2, snapshots=(2,), batch_size=16, cka_examples=0, seed=3)

    def run(wide: int):
        monkeypatch.setattr(probe_train, "WIDE", wide)
        torch.manual_seed(0)
        model = models.create("mlp1x512", in_channels=1, image_size=8, num_classes=4, dropout=0.5)
        fed = feed(model, data, 8, 1)
        probed, _ = layer_plan(fed, data, config, "cpu")
        rows = train_with_probes(fed, data, probed, config, "cpu", Recorder(), make_row)
        return model, probed, rows

    shared_model, shared, shared_rows = run(1 << 40)  # every layer copied into the shared bank's buffer
    # 16 x 512 floats: Linear "1" and its in-place ReLU "2" get banks of their own, stepped inside the hook
    # on the activations themselves (Linear 1's before the ReLU overwrites them); input and "4" stay shared.
    wide_model, wide, wide_rows = run(16 * 512)
    assert [p.layer.name for p in wide] == ["input", "1", "2", "4"]
    assert wide[0].probe is wide[3].probe and len({id(p.probe) for p in wide}) == 3
    a, b = shared_model.state_dict(), wide_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # the model's training is untouched either way

    def probe_of(probed, depth):
        bank = probed[depth].probe
        i = [p for p in probed if p.probe is bank].index(probed[depth])
        return bank.weights[i], bank.bias[i]

    for depth in range(4):
        (w1, b1), (w2, b2) = probe_of(shared, depth), probe_of(wide, depth)
        assert w1.abs().max() > 0.01  # the probes did learn
        assert torch.allclose(w1, w2, atol=1e-5) and torch.allclose(b1, b2, atol=1e-5)
    assert [r["sgd_test_error"] for r in wide_rows] == [r["sgd_test_error"] for r in shared_rows]
