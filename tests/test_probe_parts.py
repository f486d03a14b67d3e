"""Probe building blocks: reductions within the budget, layer discovery, hooks, CKA and control labels."""

import math

import pytest
import torch
from torch import nn

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.probe.layers import discover, select, tap
from deepgen_cli.engine.probe.metrics import centered_gram, control_labels, linear_cka, unbiased_center
from deepgen_cli.engine.probe.reduce import MB, Reducer, max_features, plan, probe_bytes, probe_params


def test_probe_size_is_features_plus_bias_times_classes():
    assert probe_params(64, 10) == 650
    assert probe_bytes(64, 10) == 650 * 12  # fp32 weights, momentum and gradient
    assert max_features(10, 1) == 1 * MB // 120 - 1 == 8737
    assert max_features(10, probe_bytes(100, 10) / MB) == 100  # the budget of exactly that probe


def test_resnet50_first_block_probe_needs_gigabytes_and_the_budget_brings_it_to_megabytes():
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = torchvision.models.resnet50()
    layers, skipped = discover(model, torch.empty(1, 3, 224, 224, device="meta"))
    block = next(layer for layer in layers if layer.name == "layer1.0")
    assert block.kind == "block" and block.type == "Bottleneck" and block.shape == (256, 56, 56)
    features = 256 * 56 * 56
    assert probe_params(features, 1000) == 802_817_000
    assert probe_params(features, 1000) * 4 / 1e9 == pytest.approx(3.21, abs=0.01)  # fp32 weights: ~3 GB
    for kind in ("auto", "subset", "project", "pool"):
        r = plan(block.shape, 1000, kind, 64)
        assert r.kind == ("project" if kind == "auto" else kind)
        assert probe_bytes(r.out_features, 1000) <= 64 * MB
    assert plan(block.shape, 1000, "project", 64).out_features == 64 * MB // 12_000 - 1 == 5591
    assert plan(block.shape, 1000, "pool", 64).pool_size == (4, 4)  # 256 channels x 4 x 4 = 4096 <= 5591
    assert "layer1.0.relu" in skipped  # one ReLU object runs three times per Bottleneck


def test_small_layers_are_not_reduced_and_a_tiny_budget_is_refused():
    assert plan((32, 8, 8), 10, "auto", 64).kind == "none"
    assert plan((32, 8, 8), 10, "subset", 64).kind == "none"  # already fits: nothing to drop
    r = plan((32, 8, 8), 10, "subset", 0.01)  # 0.01 MiB / 120 B per feature, less the bias -> 86 features
    assert (r.kind, r.out_features) == ("subset", 86)
    assert plan((512,), 10, "pool", 0.01).kind == "project"  # no grid to pool over
    with pytest.raises(UsageError, match="--max-probe-mb"):
        plan((32, 8, 8), 10, "auto", 1e-5)
    with pytest.raises(UsageError, match="valid: auto, none"):
        plan((4,), 10, "median", 64)


def test_reducers_give_the_planned_width_and_are_fixed_by_the_seed():
    x = torch.randn(5, 8, 6, 6)
    budget = probe_bytes(100, 10) / MB  # room for 100 features
    for kind in ("subset", "project", "pool"):
        r = plan((8, 6, 6), 10, kind, budget)
        out = Reducer(r)(x)
        assert out.shape == (5, r.out_features)
        assert torch.equal(out, Reducer(r)(x))  # same seed, same features
    r = plan((8, 6, 6), 10, "subset", budget)
    picked = Reducer(r)._index
    assert torch.equal(Reducer(r)(x), x.flatten(1)[:, picked])
    pooled = Reducer(plan((8, 6, 6), 10, "pool", budget))(x)  # 100 features: 8 channels x 3 x 3 = 72
    assert pooled.shape == (5, 72)
    assert pooled[0, 0] == pytest.approx(x[0, 0, :2, :2].mean().item(), abs=1e-6)


def test_projection_is_a_count_sketch_that_keeps_inner_products_on_average():
    r = plan((4000,), 2, "project", probe_bytes(1000, 2) / MB)  # room for exactly 1000 features
    assert r.out_features == 1000
    red = Reducer(r)
    x = torch.randn(3, 4000)
    out = red(x)
    # Every input feature lands in one bucket with sign +-1: the sum of |signed| contributions is kept.
    assert out.shape == (3, 1000)
    assert out.sum().abs() <= x.abs().sum()
    assert torch.allclose((red(torch.eye(4000)).abs().sum(1)), torch.ones(4000))
    ratio = (out.norm(dim=1) ** 2 / x.norm(dim=1) ** 2)
    assert torch.all((ratio > 0.8) & (ratio < 1.2))


def test_discovered_names_match_the_model_in_execution_order():
    from deepgen_cli.engine import models

    model = models.create("cnn", in_channels=1, image_size=8, num_classes=10)
    layers, skipped = discover(model, torch.zeros(1, 1, 8, 8))
    assert [(l.name, l.kind) for l in layers] == [
        ("input", "input"), ("0.0", "conv"), ("0.2", "activation"), ("1", "pool"),
        ("2.0", "conv"), ("2.2", "activation"), ("3", "pool"), ("6", "linear")]
    assert set(l.name for l in layers[1:]) <= set(dict(model.named_modules()))
    assert [l.shape for l in layers][1:4] == [(32, 8, 8), (32, 8, 8), (32, 4, 4)]
    assert skipped == []
    assert [l.name for l in select(layers, "2.*,6")] == ["2.0", "2.2", "6"]
    with pytest.raises(UsageError, match="valid: input, 0.0"):
        select(layers, "7")


def test_blocks_with_their_own_forward_are_probed():
    from deepgen_cli.engine import models

    model = models.create("inception-small", in_channels=3, image_size=8, num_classes=10)
    layers, _ = discover(model, torch.zeros(1, 3, 8, 8))
    blocks = [l.name for l in layers if l.kind == "block"]
    assert blocks[:3] == ["1", "2", "3"] and len(blocks) == 10  # 8 inception + 2 downsample blocks


def test_a_tap_copies_before_an_in_place_relu_overwrites_the_output():
    conv = nn.Conv2d(1, 2, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(inplace=True))
    x = torch.randn(4, 1, 5, 5)
    kept = {}
    reducer = Reducer(plan((2, 5, 5), 3, "none", 64))
    with torch.no_grad(), tap(model, ["0"], lambda name, out: kept.setdefault(name, reducer(out))):
        model(x)
        expected = conv(x).flatten(1)
    assert (expected < 0).any()  # there were negatives for the ReLU to overwrite
    assert torch.equal(kept["0"], expected)


def test_control_labels_are_fixed_per_example_whatever_the_batch():
    x = torch.randn(300, 1, 8, 8)
    labels = control_labels(x, 10, seed=1)
    assert torch.equal(control_labels(x[100:110], 10, seed=1), labels[100:110])
    assert labels.min() >= 0 and labels.max() <= 9
    assert torch.bincount(labels, minlength=10).min() > 10  # roughly uniform: 30 expected per class
    assert not torch.equal(control_labels(x, 10, seed=2), labels)


def test_linear_cka_is_one_under_rotation_and_scale_and_symmetric():
    a = torch.randn(40, 6, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    for unbiased in (True, False):
        assert linear_cka(centered_gram(a), centered_gram(2.5 * a @ q), unbiased) == pytest.approx(1.0)
    b = torch.randn(40, 9, dtype=torch.float64)
    ab = linear_cka(centered_gram(a), centered_gram(b))
    assert ab == pytest.approx(linear_cka(centered_gram(b), centered_gram(a)))
    # Hand-checked: x = [1,2,3], y = [1,3,2]: centered Grams give <Kx,Ky> / (|Kx||Ky|) = 0.25
    x = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.tensor([[1.0], [3.0], [2.0]])
    assert linear_cka(centered_gram(x), centered_gram(y), unbiased=False) == pytest.approx(0.25)
    assert math.isnan(linear_cka(centered_gram(x), centered_gram(y)))  # the unbiased form needs 4 examples
    assert math.isnan(linear_cka(centered_gram(torch.ones(4, 2)), centered_gram(torch.randn(4, 1))))


def test_unbiased_cka_is_near_zero_on_independent_wide_features_where_the_biased_is_near_one():
    g = torch.Generator().manual_seed(0)
    n, width = 32, 5000  # width >> n: each Gram matrix is dominated by its diagonal
    x = torch.randn(n, width, generator=g, dtype=torch.float64) + 3  # offsets: centering must not matter
    y = torch.randn(n, width, generator=g, dtype=torch.float64) - 1
    biased = linear_cka(centered_gram(x), centered_gram(y), unbiased=False)
    unbiased = linear_cka(centered_gram(x), centered_gram(y))
    assert biased > 0.95 and abs(unbiased) < 0.05  # measured: 0.994 and -0.019
    # <Ka, Kb> after unbiased centering is n (n - 3) times Song et al.'s (2012) unbiased HSIC, written out:
    k, l = x @ x.T, y @ y.T
    k.fill_diagonal_(0)
    l.fill_diagonal_(0)
    one = torch.ones(n, dtype=torch.float64)
    song = (torch.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))
    ours = (unbiased_center(x @ x.T) * unbiased_center(y @ y.T)).sum() / (n * (n - 3))
    assert ours == pytest.approx(float(song), rel=1e-9)
    from_centered = (unbiased_center(centered_gram(x)) * unbiased_center(centered_gram(y))).sum() / (n * (n - 3))
    assert from_centered == pytest.approx(float(song), rel=1e-9)


def test_gram_summed_over_column_chunks_equals_the_whole(monkeypatch):
    from deepgen_cli.engine.probe import metrics as probe_metrics

    x = torch.randn(6, 2, 5)  # 10 feature columns
    whole = x.reshape(6, -1).double()
    whole = whole - whole.mean(0)
    monkeypatch.setattr(probe_metrics, "GRAM_CHUNK", 3)  # chunks of 3, 3, 3 and 1 columns
    assert torch.allclose(centered_gram(x), whole @ whole.T)
    assert torch.allclose(centered_gram(x).sum(0), torch.zeros(6, dtype=torch.float64), atol=1e-9)  # centered


@pytest.mark.parametrize("scratch", [False, True])  # features only read (standardization folded in) or rewritten
@pytest.mark.parametrize("wide_logits", [False, True])  # logits as W x^T, or as x W^T (heads.WIDE_LOGITS)
def test_a_probe_bank_step_is_sgd_with_momentum_on_the_summed_cross_entropy(scratch, wide_logits, monkeypatch):
    import torch.nn.functional as F

    from deepgen_cli.engine.probe import heads
    from deepgen_cli.engine.probe.heads import ProbeBank

    if wide_logits:  # every layer counts as wide: the order layers of 8,192 columns and more take
        monkeypatch.setattr(heads, "WIDE_LOGITS", 1)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 12, generator=g)  # two layers, 7 and 5 features wide
    y = torch.randint(0, 3, (16,), generator=g)
    bank = ProbeBank([7, 5], 3, lr=0.1, device="cpu")
    for w in bank.weights:
        w.copy_(torch.randn(w.shape, generator=g))
    bank.bias.copy_(torch.randn(bank.bias.shape, generator=g))
    weights = [w.clone().requires_grad_() for w in bank.weights]
    bias = bank.bias.clone().requires_grad_()
    opt = torch.optim.SGD(weights + [bias], lr=0.1, momentum=0.9)
    z = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)  # same batch: running stats = batch stats
    for _ in range(3):
        loss = 0
        for i, (start, width) in enumerate([(0, 7), (7, 5)]):
            logits = F.linear(z[:, start:start + width], weights[i], bias[i])
            loss = loss + F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        features = x.clone()
        bank.step(features, y, scratch=scratch)
        assert torch.equal(features, x) != scratch  # rewritten only when scratch
    for ours, ref in zip(bank.weights, weights):
        assert torch.allclose(ours, ref, atol=1e-6)
    assert torch.allclose(bank.bias, bias, atol=1e-6)
    hits = bank.correct(x.clone(), y)  # standardizes its input in place
    assert hits.shape == (2, 16) and hits.dtype == torch.bool
    for i, (start, width) in enumerate([(0, 7), (7, 5)]):
        logits = F.linear(z[:, start:start + width], weights[i], bias[i])
        assert torch.equal(hits[i], logits.argmax(1) == y)  # example by example


def test_a_chunked_bank_takes_the_same_steps_as_per_layer_products():
    from deepgen_cli.engine.probe.heads import ProbeBank

    g = torch.Generator().manual_seed(2)
    dims = [3, 9, 4]  # chunk 4: the layers start at columns 0, 4 and 16 of 20, zeros between
    ref, fused = ProbeBank(dims, 5, lr=0.5, device="cpu"), ProbeBank(dims, 5, lr=0.5, device="cpu", chunk=4)
    assert (fused.offsets, fused.width, ref.offsets, ref.width) == ([0, 4, 16], 20, [0, 3, 12], 16)
    for _ in range(4):
        x, y = torch.randn(8, 16, generator=g), torch.randint(0, 5, (8,), generator=g)
        padded = torch.zeros(8, 20)
        for o, (a, d) in zip(fused.offsets, zip(ref.offsets, dims)):
            padded[:, o:o + d] = x[:, a:a + d]
        ref.step(x.clone(), y, scratch=True)
        fused.step(padded.clone(), y, scratch=True)
    assert ref.weights[1].abs().max() > 0.1  # they learned
    for ours, theirs in zip(fused.weights, ref.weights):
        assert torch.allclose(ours, theirs, atol=1e-6)  # float32 sums in another order: equal to rounding
    assert torch.allclose(fused.bias, ref.bias, atol=1e-6)
    assert fused._w[:, 3].abs().max() == 0 and fused._w[:, 13:16].abs().max() == 0  # columns between stay 0
    assert torch.equal(fused.correct(padded.clone(), y), ref.correct(x.clone(), y))


def test_a_probe_bank_never_writes_features_it_does_not_own():
    from deepgen_cli.engine.probe.heads import ProbeBank

    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 9, generator=g)  # 4 examples < 5 outputs: the bank copies rather than folds
    y = torch.tensor([0, 1, 4, 0])
    read, owned = ProbeBank([9], 5, lr=0.1, device="cpu"), ProbeBank([9], 5, lr=0.1, device="cpu")
    for _ in range(2):
        features = x.clone()
        read.step(features, y)
        assert torch.equal(features, x)
        owned.step(x.clone(), y, scratch=True)
    assert torch.equal(read.weights[0], owned.weights[0]) and torch.equal(read.bias, owned.bias)
    assert read.weights[0].abs().max() > 0.01


def test_dense_blocks_are_probed_though_they_are_module_dicts():
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):
        model = torchvision.models.densenet121()
    layers, _ = discover(model, torch.empty(1, 3, 224, 224, device="meta"))
    by_name = {layer.name: layer for layer in layers}
    # _DenseBlock is a ModuleDict with its own forward: its output concatenates 64 + 6 x 32 channels.
    assert by_name["features.denseblock1"].kind == "block" and by_name["features.denseblock1"].shape == (256, 56, 56)
    # _Transition is a plain Sequential: its output is its last child's (the pool), so it is not repeated.
    assert "features.transition1" not in by_name and by_name["features.transition1.pool"].shape == (128, 28, 28)


def test_images_resized_per_batch_match_the_data_set_resized_whole():
    from deepgen_cli.engine import data as data_mod
    from deepgen_cli.engine.probe.inputs import feed

    whole = data_mod.load(data_mod.DataConfig(dataset="digits", image_size=20, subset=100))
    native = data_mod.load(data_mod.DataConfig(dataset="digits", subset=100))
    fed = feed(nn.Identity(), native, 20, 3)
    assert fed.mean.shape == (1, 1, 1, 1)
    for ours, theirs in ((native.x_train, whole.x_train), (native.x_test, whole.x_test)):
        out = fed(ours)
        assert out.shape == (len(theirs), 3, 20, 20)
        assert torch.equal(out[:, 0], out[:, 2])  # the gray channel, repeated for an RGB stem
        assert torch.allclose(out[:, :1], theirs, atol=1e-5)
    assert feed(nn.Identity(), native, 8, 1).mean is None  # no resize: batches pass through as they are


def test_a_lagged_bank_standardizes_by_the_statistics_as_they_stood_and_moves_them_every_k_steps():
    from deepgen_cli.engine.probe.heads import ProbeBank

    g = torch.Generator().manual_seed(4)
    xs = [torch.randn(16, 8, generator=g) * 2 + 1 for _ in range(5)]
    ys = [torch.randint(0, 4, (16,), generator=g) for _ in range(5)]
    # the same probes fed three ways: standardized by the caller, raw and rewritten, raw and only read (folded)
    pre, owned, read = (ProbeBank([3, 5], 4, lr=0.3, device="cpu", stats_every=2) for _ in range(3))
    for i, (x, y) in enumerate(zip(xs, ys)):
        before = pre.mean.clone(), pre.var.clone()
        pre.step(x * pre.scale + pre.shift, y, standardized=True)
        owned.step(x.clone(), y, scratch=True)
        features = x.clone()
        read.step(features, y)
        assert torch.equal(features, x)
        if i == 0:  # the first move takes the batch's statistics whole
            assert torch.allclose(pre.mean, x.mean(0), atol=1e-5)
            assert torch.allclose(pre.var, x.var(0, unbiased=False), atol=1e-4)
        elif i % 2 == 0:  # steps 3 and 5 move, by momentum 0.1
            assert torch.allclose(pre.mean, before[0] + 0.1 * (x.mean(0) - before[0]), atol=1e-5)
        else:  # steps 2 and 4: no move
            assert torch.equal(pre.mean, before[0]) and torch.equal(pre.var, before[1])
        assert torch.allclose(pre.scale, (pre.var + 1e-5).rsqrt()) and torch.allclose(pre.shift, -pre.mean * pre.scale)
    assert pre.weights[1].abs().max() > 0.05  # they learned
    for other in (owned, read):
        for a, b in zip(pre.weights, other.weights):
            assert torch.allclose(a, b, atol=1e-5)
        assert torch.allclose(pre.bias, other.bias, atol=1e-5) and torch.allclose(pre.mean, other.mean, atol=1e-5)
