"""Microbatch batch norm and batch renorm against hand computations and loops over microbatches; the
non-i.i.d. and i.i.d. samplers; renorm's inference identity with batch norm."""

import pytest
import torch
from torch import nn

from deepgen_cli.engine.data.sampling import iid_batches, non_iid_batches
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import BatchRenorm1d, BatchRenorm2d, RenormSchedule
from deepgen_cli.engine.layers.microbatch import MicroBatchNorm1d, MicroBatchNorm2d, micro_blocks

OPEN = RenormSchedule(rmax=1e9, dmax=1e9, warmup_steps=0, rmax_steps=0, dmax_steps=0)  # nothing clipped
X4 = torch.tensor([[1.0], [3.0], [10.0], [14.0]], dtype=torch.float64)  # microbatches of 2: {1, 3}, {10, 14}


def test_each_microbatch_is_normalized_on_its_own_by_hand():
    layer = MicroBatchNorm1d(1, eps=1e-12, momentum=0.5, microbatch=2).double().train()  # torch needs eps > 0
    # {1, 3}: mean 2, biased variance 1 -> -1, +1; {10, 14}: mean 12, biased variance 4 -> -1, +1
    assert torch.allclose(layer(X4).flatten(), torch.tensor([-1.0, 1.0, -1.0, 1.0], dtype=torch.float64))
    # one update per step towards the mean over microbatches: mean (2 + 12) / 2 = 7, unbiased variances 2 and 8
    assert layer.running_mean.item() == 0.5 * 0 + 0.5 * 7
    assert layer.running_var.item() == pytest.approx(0.5 * 1 + 0.5 * 5)
    whole = MicroBatchNorm1d(1, eps=1e-12, microbatch=None).double().train()
    # the whole minibatch: mean 7, biased variance (36 + 16 + 9 + 49) / 4 = 27.5
    assert torch.allclose(whole(X4), (X4 - 7) / 27.5 ** 0.5)


def _loop_bn(x, w, b, m, eps=1e-5):
    dims, shape = [0] + list(range(2, x.dim())), [1, -1] + [1] * (x.dim() - 2)
    return torch.cat([(xb - xb.mean(dims, keepdim=True)) / (xb.var(dims, keepdim=True, unbiased=False) + eps).sqrt()
                      * w.view(shape) + b.view(shape) for xb in x.split(m)])


@pytest.mark.parametrize("cls,shape", [(MicroBatchNorm1d, (16, 5)), (MicroBatchNorm2d, (16, 3, 2, 2)),
                                       (MicroBatchNorm1d, (16, 4, 3))])
@pytest.mark.parametrize("m", [2, 4, 16])
def test_microbatch_norm_outputs_and_gradients_match_a_loop(cls, shape, m):
    torch.manual_seed(m)
    x = (torch.randn(*shape, dtype=torch.float64) * 3 + 1).requires_grad_()
    layer = cls(shape[1], microbatch=m).double().train()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-1, 1)
    w, b = layer.weight.detach().clone().requires_grad_(), layer.bias.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    y, ref = layer(x), _loop_bn(x2, w, b, m)
    g = torch.randn_like(y)
    y.backward(g)
    ref.backward(g)
    for got, want in [(y, ref), (x.grad, x2.grad), (layer.weight.grad, w.grad), (layer.bias.grad, b.grad)]:
        assert (got - want).abs().max().item() <= 1e-10


def test_whole_minibatch_is_torch_batch_norm_exactly():
    torch.manual_seed(0)
    x = torch.randn(32, 7)
    bn, ours = nn.BatchNorm1d(7).train(), MicroBatchNorm1d(7, microbatch=32).train()
    assert torch.equal(bn(x), ours(x))
    assert torch.equal(bn.running_mean, ours.running_mean) and torch.equal(bn.running_var, ours.running_var)


def test_renorm_per_microbatch_by_hand_with_clips_counted():
    layer = BatchRenorm1d(1, eps=1e-12, momentum=0.5, microbatch=2).double().train()
    layer.schedule = OPEN  # mu = 0, sigma = 1: unclipped renorm is (x - 0) / 1, the inference function
    layer.update_running = False
    assert torch.allclose(layer(X4), X4)
    layer.update_running = True
    layer.schedule = RenormSchedule(rmax=1.5, dmax=5.0, warmup_steps=0, rmax_steps=0, dmax_steps=0)
    # {1, 3}: r = 1/1, d = 2 -> x_hat + 2 = 1, 3; {10, 14}: r = 2 -> 1.5, d = 12 -> 5: -1.5 + 5, 1.5 + 5
    assert torch.allclose(layer(X4).flatten(), torch.tensor([1.0, 3.0, 3.5, 6.5], dtype=torch.float64))
    assert (layer.active_steps, layer.values, layer.clips.flatten().tolist()) == (1, 2, [1, 1])  # r once, d once
    assert layer.running_mean.item() == 3.5  # towards (2 + 12) / 2 = 7
    assert layer.running_std.item() == pytest.approx(1.25)  # towards (1 + 2) / 2 = 1.5
    assert layer.step == 1 and int(layer.num_batches_tracked) == 1


def test_renorm_microbatches_match_a_loop_with_clipping():
    torch.manual_seed(3)
    layer = BatchRenorm2d(3, microbatch=4, schedule=RenormSchedule(1.5, 0.5, 0, 0, 0)).double().train()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.running_mean.uniform_(-1, 1)
        layer.running_std.uniform_(0.5, 2)
    mu, sigma = layer.running_mean.clone(), layer.running_std.clone()
    x = (torch.randn(16, 3, 2, 2, dtype=torch.float64) * 2 + 1).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    y = layer(x)
    outs, sh = [], [1, -1, 1, 1]
    for xb in x2.split(4):
        mean, std = xb.mean((0, 2, 3)), (xb.var((0, 2, 3), unbiased=False) + layer.eps).sqrt()
        r, d = (std / sigma).clamp(1 / 1.5, 1.5).detach(), ((mean - mu) / sigma).clamp(-0.5, 0.5).detach()
        outs.append(layer.weight.detach().view(sh) * ((xb - mean.view(sh)) / std.view(sh) * r.view(sh) + d.view(sh))
                    + layer.bias.detach().view(sh))
    ref = torch.cat(outs)
    g = torch.randn_like(y)
    y.backward(g)
    ref.backward(g)
    assert (y - ref).abs().max().item() <= 1e-10 and (x.grad - x2.grad).abs().max().item() <= 1e-10
    assert 0 < int(layer.clips.sum()) < 2 * 4 * 3  # some of the 4 microbatches x 3 channels clipped, not all


def test_training_needs_whole_microbatches_and_evaluation_takes_a_ragged_tail():
    layer = MicroBatchNorm1d(2, microbatch=4).train()
    with pytest.raises(ValueError, match="not a whole number of microbatches of 4"):
        layer(torch.randn(10, 2))
    assert micro_blocks(18, 4) == [(0, 16, 4), (16, 2, 2)] and micro_blocks(17, 4) == [(0, 12, 4), (12, 5, 5)]
    assert micro_blocks(5, 4) == [(0, 5, 5)] and micro_blocks(2, 4) == [(0, 2, 2)]
    layer.update_running = False
    x = torch.randn(18, 2)
    before = layer.running_mean.clone()
    expected = torch.cat([_loop_bn(x[:16], layer.weight, layer.bias, 4), _loop_bn(x[16:], layer.weight, layer.bias, 2)])
    assert torch.allclose(layer(x), expected, atol=1e-6) and torch.equal(layer.running_mean, before)


def test_schedule_step_is_a_python_int_restored_with_the_state_dict():
    layer = BatchRenorm1d(3, schedule=RenormSchedule(2.0, 1.0, 2, 6, 4)).train()
    for _ in range(5):
        layer(torch.randn(4, 3))
    assert layer.step == 5 and layer.limits() == (1.75, 1.0)
    fresh = BatchRenorm1d(3, schedule=RenormSchedule(2.0, 1.0, 2, 6, 4))
    fresh.load_state_dict(layer.state_dict())
    assert fresh.step == 5 and fresh.limits() == (1.75, 1.0)
    s = RenormSchedule.fractions(420, 0.0625, 0.3125, 0.5)  # the default run: 42 steps x 10 epochs
    assert (s.warmup_steps, s.dmax_steps, s.rmax_steps) == (26, 131, 210)  # round(26.25), round(131.25), 210
    assert s.at(26) == (1.0, 0.0) and s.at(27) != (1.0, 0.0)  # r/d active from step 27: 393 of 420 steps


def _mlp(kind, **kw):
    torch.manual_seed(0)
    return norms.build("mlp-bn", kind, in_channels=1, image_size=8, num_classes=10, **kw)


def test_same_initial_weights_for_every_norm_and_microbatch():
    built = [_mlp("batch", microbatch=2), _mlp("renorm", microbatch=4), _mlp("group"), _mlp("none"), _mlp("batch")]
    linears = [[m.weight for m in model.modules() if isinstance(m, nn.Linear)] for model in built]
    assert [w.shape[1] for w in linears[0]] == [64, 128, 128, 128]  # 64-128-128-128-10 from 8x8 images
    assert all(torch.equal(a, b) for other in linears[1:] for a, b in zip(linears[0], other))
    kinds = [type(m).__name__ for m in built[1].modules()]
    assert kinds.count("BatchRenorm1d") == 3 and [m.microbatch for m in built[0].modules()
                                                  if isinstance(m, MicroBatchNorm1d)] == [2, 2, 2]
    assert [m.num_groups for m in built[2].modules() if isinstance(m, nn.GroupNorm)] == [8, 8, 8]
    assert [norms.group_count(c, g) for c, g in [(32, 24), (48, 32), (7, 8), (6, 4), (64, 8)]] == [16, 24, 7, 3, 8]


def test_at_inference_trained_renorm_is_batch_norm_and_folds():
    torch.manual_seed(0)
    model = norms.build("cnn-deep", "renorm", in_channels=1, image_size=8, num_classes=10, microbatch=4,
                        schedule=RenormSchedule(3.0, 5.0, 0, 0, 0)).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        loss = model(torch.randn(16, 1, 8, 8) * 2 + 0.5).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.randn(9, 1, 8, 8)
    with torch.no_grad():
        ref = model.eval()(x)
        twin = norms.as_batch_norm(model)
        assert not any(isinstance(m, (BatchRenorm1d, BatchRenorm2d)) for m in twin.modules())
        assert (twin(x) - ref).abs().max().item() <= 1e-5  # float32 rounding of sigma^2 - eps + eps
        folded = norms.fold_norms(model)
        assert sum(isinstance(m, BatchRenorm2d) for m in folded.modules()) == 0
        assert (folded(x) - ref).abs().max().item() <= 1e-4
        assert (model.train()(x[:8]) - ref[:8]).abs().max().item() > 1e-3  # training mode differs: the check bites


LABELS = torch.arange(10).repeat_interleave(20)[torch.randperm(200, generator=torch.Generator().manual_seed(1))]


@pytest.mark.parametrize("batch_size,k", [(32, 2), (30, 3), (7, 3), (10, 10)])
def test_non_iid_sampler_classes_and_images_per_class(batch_size, k):
    batches = non_iid_batches(LABELS, batch_size, k, torch.Generator().manual_seed(0))
    assert batches and all(len(b) == batch_size for b in batches)
    for b in batches:
        counts = sorted(torch.bincount(LABELS[b], minlength=10).tolist(), reverse=True)[:k]
        assert len(LABELS[b].unique()) == k
        assert counts == [batch_size // k + (1 if i < batch_size % k else 0) for i in range(k)]
    flat = torch.cat(batches)
    assert len(flat.unique()) == len(flat)  # without replacement within an epoch
    kept = non_iid_batches(LABELS, batch_size, k, torch.Generator().manual_seed(0), keep_leftovers=True)
    assert all(torch.equal(a, b) for a, b in zip(batches, kept))
    assert sorted(torch.cat(kept).tolist()) == list(range(200)) and min(len(b) for b in kept) >= 2


def test_non_iid_minibatches_are_shuffled_within_unless_asked_not_to():
    shuffled = non_iid_batches(LABELS, 32, 2, torch.Generator().manual_seed(0))
    blocks = non_iid_batches(LABELS, 32, 2, torch.Generator().manual_seed(0), shuffle_within=False)
    runs = [int((LABELS[b][1:] != LABELS[b][:-1]).sum()) for b in blocks]
    assert runs == [1] * len(blocks)  # two class blocks of 16: one change of label
    assert all(int((LABELS[b][1:] != LABELS[b][:-1]).sum()) > 1 for b in shuffled)
    # in 2 x 16 shuffled, a microbatch of 4 holds both classes in most cases: 1 - 2 * C(16,4)/C(32,4) = 95%
    mixed = sum(len(LABELS[b[i:i + 4]].unique()) == 2 for b in shuffled for i in range(0, 32, 4))
    assert mixed >= 0.8 * 8 * len(shuffled)
    with pytest.raises(Exception, match="--non-iid"):
        non_iid_batches(LABELS, 2, 4, torch.Generator())


def test_iid_batches_drop_or_merge_the_tail():
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert [len(b) for b in iid_batches(1347, 32, gen(), drop_last=True)] == [32] * 42
    assert [len(b) for b in iid_batches(450, 32, gen())][-2:] == [32, 2]
    assert [len(b) for b in iid_batches(65, 32, gen())] == [32, 33]  # a lone example joins the one before


def test_a_training_step_reads_nothing_back_from_the_device(monkeypatch):
    """On a GPU, int(tensor), float(tensor), bool(tensor), .item() and .tolist() wait for the device: the
    schedule and the clip counts must not use them (the layer once read its step counter with int())."""
    model = _mlp("renorm", microbatch=4, schedule=RenormSchedule(3.0, 5.0, 1, 3, 2)).train()
    bn = _mlp("batch", microbatch=4, bn_momentum=0.01).train()
    x = torch.randn(16, 1, 8, 8)

    def refuse(*_args, **_kw):
        raise AssertionError("host sync")

    for name in ("__int__", "__float__", "__bool__", "item", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    with pytest.raises(AssertionError, match="host sync"):
        int(torch.tensor(3))  # the trap works
    for net in (model, bn):
        for _ in range(4):  # through the warmup (steps 0, 1: rmax 1, dmax 0) and into the ramps
            net(x).square().mean().backward()
    monkeypatch.undo()
    assert model[2].step == 4 and model[2].active_steps == 2 and model[2].values == 2 * 4  # 4 microbatches a step
