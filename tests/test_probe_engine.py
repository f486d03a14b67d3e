"""Post-hoc probing on tiny in-memory data: separable data gives ~0 error, the model is left untouched,
probe memory groups respect the total budget, and the verdicts follow from the rows."""

from types import SimpleNamespace

import pytest
import torch

from deepgen_cli.engine.probe import ProbeConfig, build_model, layer_plan, run_posthoc
from deepgen_cli.engine.probe.findings import findings as outcome
from deepgen_cli.engine.probe.inputs import feed
from deepgen_cli.engine.probe.findings import margin, monotone_finding, random_features_finding, rises
from deepgen_cli.engine.probe.passes import groups
from tests.sessions import Recorder


pytestmark = pytest.mark.usefixtures("one_thread")


def separable(n_train=200, n_test=100, seed=0):
    """Two classes on either side of a fixed hyperplane through 1x4x4 inputs, with a margin of 1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_test, 16, generator=g)
    w = torch.ones(16) / 4  # unit normal
    y = (x @ w > 0).long()
    x = x + torch.outer(torch.where(y == 1, 1.0, -1.0), w)  # push each point one unit from the plane
    x = x.reshape(-1, 1, 4, 4)
    return SimpleNamespace(x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:],
                           num_classes=2, in_channels=1, image_size=4)


def fed_model(config, data):
    return feed(build_model(config, data.in_channels, data.image_size, data.num_classes), data,
                data.image_size, data.in_channels)


def probe_untrained(data, **kw):
    config = ProbeConfig(untrained=True, cka_examples=50, **kw)
    fed = fed_model(config, data)
    probed, notes = layer_plan(fed, data, config, "cpu")
    session = Recorder()
    rows = run_posthoc(fed, data, probed, config, "cpu", session)
    return fed.model, rows, session, outcome(rows, config, notes, len(data.y_test))


def test_probe_on_linearly_separable_inputs_has_no_error():
    data = separable()
    _, rows, session, _ = probe_untrained(data, layers="input,6")
    first = rows[0]
    assert first["layer"] == "input" and first["features"] == 16 and first["reduction"] == "none"
    assert first["train_error"] == 0.0 and first["test_error"] == 0.0
    assert first["probe_params"] == 17 * 2
    assert len(session.rows) == len(rows) == 2


def test_post_hoc_probing_leaves_the_model_unchanged():
    data = separable()
    config = ProbeConfig(untrained=True, cka_examples=50)
    fed = fed_model(config, data)
    model = fed.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probed, _ = layer_plan(fed, data, config, "cpu")
    rows = run_posthoc(fed, data, probed, config, "cpu", Recorder())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm statistics included
    assert all(p.grad is None for p in model.parameters())
    assert [r["layer"] for r in rows] == ["input", "0.0", "0.2", "1", "2.0", "2.2", "3", "6"]
    assert rows[1]["cka_prev"] is not None and 0 < rows[1]["cka_prev"] <= 1


def test_probes_reduced_to_the_budget_still_learn():
    data = separable()
    # 0.002 MiB per probe of 2 classes: (f + 1) * 2 * 12 B <= 2097 B -> 86 features; conv layers have 512.
    _, rows, _, result = probe_untrained(data, layers="input,0.0,0.2", max_probe_mb=0.002, reduce="subset")
    conv = rows[1]
    assert conv["features"] == 512 and conv["reduction"] == "subset" and conv["probe_features"] == 86
    assert conv["probe_mib"] * 2 ** 20 == 87 * 2 * 12 <= 0.002 * 2 ** 20
    assert conv["full_probe_mib"] * 2 ** 20 == 513 * 2 * 12
    assert rows[1]["test_error"] < 0.25
    assert any("reduced to fit" in n for n in result.notes)


def test_groups_keep_each_pass_within_the_total_budget():
    data = separable()
    config = ProbeConfig(untrained=True)
    probed, _ = layer_plan(fed_model(config, data), data, config, "cpu")
    sizes = [p.bytes(2, True) for p in probed]  # 2 heads (task + control) x (f + 1) x 2 classes x 12 B
    assert sizes[0] == 2 * 17 * 2 * 12
    limit = max(sizes) / 2 ** 20
    parts = groups(probed, 2, True, limit)
    assert [p for g in parts for p in g] == probed
    assert all(sum(p.bytes(2, True) for p in g) <= max(sizes) for g in parts) and len(parts) > 1


def test_untrained_verdict_compares_hidden_layers_with_the_input():
    rows = [dict(layer="input", kind="input", test_error=0.2), dict(layer="a", kind="conv", test_error=0.3),
            dict(layer="b", kind="pool", test_error=0.1)]
    # 0.2 vs 0.1 on 1000 examples: 2 SDs = 2 sqrt((0.16 + 0.09) / 1000) = 0.032 < 0.1
    f = random_features_finding(rows, 0.01, 1000)
    assert f.reproduced and "1 of 2 layers lower by more than max(0.010, 2 binomial SDs on 1000" in f.measured
    assert "best 0.100 at b" in f.measured
    rows[2]["test_error"] = 0.195  # lower than the input's 0.2, but within the tolerance
    assert not random_features_finding(rows, 0.01, 1000).reproduced
    rows[2]["test_error"] = 0.17  # 2 SDs = 2 sqrt((0.16 + 0.1411) / n): 0.110 at n = 100, 0.011 at n = 10000
    assert not random_features_finding(rows, 0.01, 100).reproduced
    assert random_features_finding(rows, 0.01, 10000).reproduced


def test_monotone_verdict_names_the_exceptions_beyond_the_margin():
    errors = {"input": 0.5, "a": 0.3, "b": 0.305, "c": 0.4, "d": 0.1}
    rows = [dict(layer=k, test_error=v) for k, v in errors.items()]
    f = monotone_finding(rows, 0.01, 10000, "epoch 2")
    assert not f.reproduced and "c (0.305 -> 0.400)" in f.measured and "b (" not in f.measured
    rows[3]["test_error"] = 0.31
    assert monotone_finding(rows, 0.01, 10000, "epoch 2").reproduced
    # The default run's last layer: 4 -> 10 mistakes of 450 (0.009 -> 0.022) is within 2 SDs = 0.016
    # there, but 90 -> 220 of 10000 is a rise: 2 SDs = 0.0035, so the 0.01 floor decides.
    rows = [dict(layer="pool", test_error=0.009), dict(layer="fc", test_error=0.022)]
    assert margin(0.009, 0.022, 450, 0.01) == pytest.approx(0.01645, abs=1e-5)
    assert rises(rows, 0.01, 450) == [] and rises(rows, 0.01, 10000) == [("fc", 0.009, 0.022)]


def test_untrained_run_reports_the_random_feature_verdict():
    data = separable()
    _, _, _, result = probe_untrained(data)
    claims = [f.claim for f in result.findings]
    assert len(claims) == 1 and claims[0].startswith("An untrained network")
    assert result.analysis["snapshots"][0]["snapshot"] == "untrained"
