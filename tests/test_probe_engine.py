"""Post-hoc probing on tiny in-memory data: separable data gives ~0 error, the model is left untouched,
probe memory groups respect the total budget, and the verdicts follow from the rows."""

from types import SimpleNamespace

import pytest
import torch

from deepgen_cli.engine.probe import ProbeConfig, build_model, layer_plan, run_posthoc
from deepgen_cli.engine.probe.findings import findings as outcome
from deepgen_cli.engine.probe.inputs import feed
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
    sizes = [p.bytes(2) for p in probed]  # (f + 1) x 2 classes x 12 B
    assert sizes[0] == 17 * 2 * 12
    limit = max(sizes) / 2 ** 20
    parts = groups(probed, lambda p: p.bytes(2), limit)
    assert [p for g in parts for p in g] == probed
    assert all(sum(p.bytes(2) for p in g) <= max(sizes) for g in parts) and len(parts) > 1


def test_untrained_run_reports_the_random_feature_verdict():
    data = separable()
    _, _, _, result = probe_untrained(data)
    claims = [f.claim for f in result.findings]
    assert len(claims) == 1 and claims[0].startswith("An untrained network")
    assert result.analysis["snapshots"][0]["snapshot"] == "untrained"
