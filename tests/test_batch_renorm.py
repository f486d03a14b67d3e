"""The batch renorm layer against the paper's algorithm, batch norm, and hand-computed schedules."""

import pytest
import torch
from torch import nn

from deepgen_cli.engine.layers import clips
from deepgen_cli.engine.layers.batch_renorm import (BatchRenorm1d, BatchRenorm2d, RenormSchedule, from_batch_norm,
                                             to_batch_norm)
from deepgen_cli.engine.layers.clips import ClipLog

PLAIN = RenormSchedule(rmax=1.0, dmax=0.0, warmup_steps=0, rmax_steps=0, dmax_steps=0)
OPEN = RenormSchedule(rmax=1e9, dmax=1e9, warmup_steps=0, rmax_steps=0, dmax_steps=0)  # nothing clipped


def _stats(x):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    return x.mean(dims).view(shape), x.var(dims, unbiased=False).view(shape), shape


def _paper(x, mu, sigma, gamma, beta, eps, rmax, dmax, stop=True):
    """Algorithm 1 of Ioffe (2017), written out; stop=False lets gradients through r and d."""
    mean, var, shape = _stats(x)
    std = (var + eps).sqrt()
    r = (std / sigma.view(shape)).clamp(1 / rmax, rmax)
    d = ((mean - mu.view(shape)) / sigma.view(shape)).clamp(-dmax, dmax)
    if stop:
        r, d = r.detach(), d.detach()
    return gamma.view(shape) * ((x - mean) / std * r + d) + beta.view(shape)


def _layer(cls, c, schedule, seed=0):
    torch.manual_seed(seed)
    layer = cls(c, schedule=schedule).double()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-0.5, 0.5)
        layer.running_mean.uniform_(-1, 1)
        layer.running_std.uniform_(0.5, 2)
    return layer


@pytest.mark.parametrize("cls,shape", [(BatchRenorm2d, (4, 3, 5, 5)), (BatchRenorm1d, (6, 3)),
                                       (BatchRenorm1d, (4, 3, 7))])
def test_rmax_1_dmax_0_is_batch_norm_in_training(cls, shape):
    layer = _layer(cls, shape[1], PLAIN)
    bn = (nn.BatchNorm2d if cls is BatchRenorm2d else nn.BatchNorm1d)(shape[1]).double()
    with torch.no_grad():
        bn.weight.copy_(layer.weight)
        bn.bias.copy_(layer.bias)
    x = (torch.randn(*shape, dtype=torch.float64) * 3 + 2).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    y, y_bn = layer.train()(x), bn.train()(x2)
    assert (y - y_bn).abs().max().item() <= 1e-12
    g = torch.randn_like(y)
    y.backward(g)
    y_bn.backward(g)
    assert (x.grad - x2.grad).abs().max().item() <= 1e-12
    assert (layer.weight.grad - bn.weight.grad).abs().max().item() <= 1e-12


def test_training_output_follows_the_paper_with_corrections_active():
    layer = _layer(BatchRenorm2d, 3, RenormSchedule(rmax=1.5, dmax=0.5, warmup_steps=0, rmax_steps=0, dmax_steps=0))
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64) * 3 + 2
    mu, sigma = layer.running_mean.clone(), layer.running_std.clone()
    expected = _paper(x, mu, sigma, layer.weight, layer.bias, layer.eps, 1.5, 0.5)
    mean, var, _ = _stats(x)
    r, d = layer.corrections(mean.flatten(), (var.flatten() + layer.eps).sqrt())
    assert ((r == 1.5) | (r == 1 / 1.5)).any() and (d.abs() == 0.5).any()  # the clips do bite here
    assert (layer.train()(x) - expected).abs().max().item() <= 1e-12


def test_moving_averages_use_rate_momentum_and_count_steps():
    layer = _layer(BatchRenorm2d, 2, PLAIN)
    layer.momentum = 0.25
    mu0, sigma0 = layer.running_mean.clone(), layer.running_std.clone()
    x = torch.tensor([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[5.0, 7.0]], [[2.0, 2.0]]]], dtype=torch.float64)
    layer.train()(x)
    # channel 0 holds 1, 3, 5, 7: mean 4, biased variance 5; channel 1 holds 0, 0, 2, 2: mean 1, variance 1
    std = torch.tensor([5.0, 1.0], dtype=torch.float64).add(layer.eps).sqrt()
    assert torch.allclose(layer.running_mean, mu0 + 0.25 * (torch.tensor([4.0, 1.0], dtype=torch.float64) - mu0))
    assert torch.allclose(layer.running_std, sigma0 + 0.25 * (std - sigma0))
    assert int(layer.num_batches_tracked) == 1
    layer.update_running = False
    before = layer.state_dict()
    layer(x)
    assert all(torch.equal(before[k], v) for k, v in layer.state_dict().items())


def test_gradients_do_not_flow_through_r_and_d():
    schedule = RenormSchedule(rmax=1.5, dmax=0.5, warmup_steps=0, rmax_steps=0, dmax_steps=0)
    layer = _layer(BatchRenorm2d, 3, schedule)
    x = torch.randn(4, 3, 3, 3, dtype=torch.float64) * 2 + 1
    mu, sigma = layer.running_mean.clone(), layer.running_std.clone()
    g = torch.randn(4, 3, 3, 3, dtype=torch.float64)

    def grad(fn):
        xi = x.clone().requires_grad_()
        fn(xi).backward(g)
        return xi.grad

    ours = grad(lambda xi: layer.train()(xi))
    ours_w, ours_b = layer.weight.grad.clone(), layer.bias.grad.clone()
    layer.weight.grad = layer.bias.grad = None
    layer.update_running = False  # same statistics for both references
    stopped = grad(lambda xi: _paper(xi, mu, sigma, layer.weight, layer.bias, layer.eps, 1.5, 0.5))
    assert (ours - stopped).abs().max().item() <= 1e-12
    # gamma and beta get the gradients of the written-out algorithm too (the layer's backward is hand-made)
    assert (ours_w - layer.weight.grad).abs().max().item() <= 1e-12
    assert (ours_b - layer.bias.grad).abs().max().item() <= 1e-12
    open_ = grad(lambda xi: _paper(xi, mu, sigma, layer.weight, layer.bias, layer.eps, 1e9, 1e9, stop=False))
    assert (ours - open_).abs().max().item() > 1e-3  # letting r and d through would change the gradient
    # With nothing clipped, y = gamma * (x - mu) / sigma + beta exactly: its input gradient is gamma / sigma * g.
    wide = _layer(BatchRenorm2d, 3, OPEN)
    got = grad(lambda xi: wide.train()(xi))
    assert torch.allclose(grad(lambda xi: _paper(xi, wide.running_mean, wide.running_std, wide.weight, wide.bias,
                                                 wide.eps, 1e9, 1e9, stop=False)),
                          (wide.weight / wide.running_std).view(1, -1, 1, 1) * g)
    assert not torch.allclose(got, (wide.weight / wide.running_std).view(1, -1, 1, 1) * g)


def test_eval_equals_batch_norm_eval_with_the_same_statistics():
    torch.manual_seed(1)
    bn = nn.BatchNorm2d(4).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.1, 3)
    brn = from_batch_norm(bn)
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64) * 2
    assert (brn.eval()(x) - bn.eval()(x)).abs().max().item() <= 1e-12
    back = to_batch_norm(brn)
    assert (back(x) - bn(x)).abs().max().item() <= 1e-12
    # The eval output is gamma * (x - mu) / sigma + beta, written out by hand for one element.
    v = x[1, 2, 3, 4]
    hand = bn.weight[2] * (v - bn.running_mean[2]) / (bn.running_var[2] + bn.eps).sqrt() + bn.bias[2]
    assert abs(brn(x)[1, 2, 3, 4].item() - hand.item()) <= 1e-12


def test_paper_schedule_at_given_steps():
    s = RenormSchedule()
    assert s.at(0) == (1.0, 0.0) and s.at(4_999) == (1.0, 0.0)
    assert s.at(5_000) == (1.0, 0.0)
    assert s.at(15_000) == (pytest.approx(1 + 2 * 10 / 35), pytest.approx(5 * 10 / 20))  # (1.5714, 2.5)
    assert s.at(25_000) == (pytest.approx(1 + 2 * 20 / 35), 5.0)
    assert s.at(40_000) == (3.0, 5.0) and s.at(100_000) == (3.0, 5.0)


def test_scaled_schedule_and_the_layer_counts_its_steps():
    s = RenormSchedule.scaled(800)  # 40k steps -> 400 (half the run): factor 1/100
    assert (s.warmup_steps, s.dmax_steps, s.rmax_steps) == (50, 250, 400)
    s = RenormSchedule(rmax=2.0, dmax=1.0, warmup_steps=2, rmax_steps=6, dmax_steps=4)
    layer = BatchRenorm1d(3, schedule=s).train()
    seen = []
    for _ in range(7):
        seen.append(layer.limits())
        layer(torch.randn(5, 3))
    assert seen == [(1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.25, 0.5), (1.5, 1.0), (1.75, 1.0), (2.0, 1.0)]
    layer.eval()(torch.randn(5, 3))
    assert int(layer.num_batches_tracked) == 7  # eval passes are not steps


def test_bad_inputs_are_refused_like_batch_norm():
    with pytest.raises(ValueError, match="4D input"):
        BatchRenorm2d(3)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchRenorm1d(3).train()(torch.randn(1, 3))


@pytest.mark.slow  # torch.compile takes ~15 s on CPU
# microbatches of 4 (norm_train) over (N, C) and (N, C, L) inputs, the whole minibatch (renorm_whole)
@pytest.mark.parametrize("microbatch,length", [(4, None), (4, 3), (None, None)])
def test_compiled_renorm_trains_and_counts_as_eager(microbatch, length):
    from deepgen_cli.engine.layers.batch_renorm import BatchRenorm1d, RenormSchedule

    torch.manual_seed(0)
    shape = (6, 16, 5) if length is None else (6, 16, 5, length)
    x = torch.randn(shape) * 3 + 1  # 6 steps of 16 examples
    weights = torch.randn(shape)  # of the outputs in the loss, so each gradient differs
    out = {}
    for compiled in (False, True):
        # step 0 warms up; at step 1 both ramps start from 0 (rmax 1, dmax 0); steps 2-5 are active
        # momentum 0.5: a backward that read the moving averages after the step moved them would be far off
        layer = BatchRenorm1d(5, momentum=0.5, schedule=RenormSchedule(1.5, 0.5, 1, 3, 2), microbatch=microbatch)
        f = torch.compile(layer) if compiled else layer
        ys = []
        for i in range(6):
            ys.append(f(x[i]))
            (ys[-1] * weights[i]).sum().backward()
        out[compiled] = (torch.stack(ys).detach(), layer.clips.clone(), (layer.step, layer.active_steps, layer.values),
                         layer.running_mean.clone(), layer.running_std.clone(), layer.weight.grad, layer.bias.grad)
        (f(x[0]) + f(x[1])).sum().backward()  # two forwards, then one backward
    (y0, c0, n0, m0, s0, gw0, gb0), (y1, c1, n1, m1, s1, gw1, gb1) = out[False], out[True]
    assert n0 == n1 == (6, 4, 16 if microbatch else 4)  # 6 steps, 4 active, 4 x (4 microbatches or 1)
    assert torch.equal(c0, c1) and c0.sum() > 0
    assert torch.allclose(y0, y1, atol=1e-5) and torch.allclose(m0, m1, atol=1e-6) and torch.allclose(s0, s1, atol=1e-6)
    assert torch.allclose(gw0, gw1, atol=1e-4) and torch.allclose(gb0, gb1, atol=1e-4)


def test_clip_log_counts_each_step_against_its_own_limits_across_blocks_and_shapes(monkeypatch):
    monkeypatch.setattr(clips, "BLOCK_BYTES", 3 * 2 * 4 * 4)  # 3 steps of (4,) float32 r and d per block
    log, counts, expect = ClipLog(50), torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    # steps 0-2: one limit for the block; 3-5: a limit per step; 6: a part block, counted when the shape
    # changes to microbatches (G=2: 2 x 2 x 8 values, one step per block)
    for step, shape in enumerate([(4,)] * 7 + [(2, 1, 4)] * 4):
        rmax, dmax = (2.0, 0.5) if step < 3 else (1.0 + 0.25 * step, 0.1 * step)
        r_raw, d_raw = log.slot(shape, torch.float32, counts, rmax, dmax)
        r_raw.copy_(torch.rand(shape, generator=g) * 3)
        d_raw.copy_(torch.randn(shape, generator=g))
        if step == 4:
            r_raw.view(-1)[0] = float("nan")  # a NaN counts as changed, as r != raw r does
        r, d = r_raw.clamp(1 / rmax, rmax), d_raw.clamp(-dmax, dmax)
        expect += torch.stack([(r != r_raw).reshape(-1, 4).sum(0), (d != d_raw).reshape(-1, 4).sum(0)])
    assert len(log) == 1  # the last step waits
    log.count_into(counts)
    assert len(log) == 0 and torch.equal(counts, expect)
    assert 0 < int(expect[0].sum()) < 7 * 4 + 4 * 8 and 0 < int(expect[1].sum()) < 7 * 4 + 4 * 8
