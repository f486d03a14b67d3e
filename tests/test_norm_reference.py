"""The microbatch layers (ghost batch norm, batch renorm) against a float64 reference written out from the
algorithm, one microbatch at a time: outputs, input and parameter gradients, moving averages and clip counts
over several steps, for 2-D, 3-D and 4-D inputs and microbatches of 2, 4 and the whole minibatch."""

import pytest
import torch

from deepgen_cli.engine.layers import batch_renorm
from deepgen_cli.engine.layers.batch_renorm import BatchRenorm1d, BatchRenorm2d, RenormSchedule
from deepgen_cli.engine.layers.microbatch import MicroBatchNorm1d, MicroBatchNorm2d

SHAPES = [(16, 5), (16, 4, 3), (16, 3, 2, 2)]
BITES = RenormSchedule(1.5, 0.5, 0, 0, 0)  # r clipped to [2/3, 1.5], d to [-0.5, 0.5]: some clip, some not


def _reference_step(x, w, b, mu, var_or_sigma, m, eps, momentum, renorm):
    """(y, new moving averages, (r clips, d clips) per channel) of one training step, microbatch by microbatch."""
    dims, shape = [0] + list(range(2, x.dim())), [1, -1] + [1] * (x.dim() - 2)
    outs, means, spreads, clips = [], [], [], torch.zeros(2, x.shape[1], dtype=torch.long)
    for xb in x.split(m):
        mean, var = xb.mean(dims), xb.var(dims, unbiased=False)
        std = (var + eps).sqrt()
        x_hat = (xb - mean.view(shape)) / std.view(shape)
        if renorm:
            r_raw, d_raw = std.detach() / var_or_sigma, (mean.detach() - mu) / var_or_sigma
            r, d = r_raw.clamp(1 / 1.5, 1.5), d_raw.clamp(-0.5, 0.5)
            clips += torch.stack([(r != r_raw), (d != d_raw)]).long()
            x_hat = x_hat * r.view(shape) + d.view(shape)
            spreads.append(std.detach())
        else:
            k = xb.numel() // xb.shape[1]
            spreads.append(var.detach() * k / (k - 1))  # unbiased, as torch's running_var
        means.append(mean.detach())
        outs.append(w.view(shape) * x_hat + b.view(shape))
    new_mu = mu + momentum * (torch.stack(means).mean(0) - mu)
    new_spread = var_or_sigma + momentum * (torch.stack(spreads).mean(0) - var_or_sigma)
    return torch.cat(outs), new_mu, new_spread, clips


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("m", [2, 4, 16])
@pytest.mark.parametrize("renorm", [False, True])
def test_layer_equals_the_float64_reference_over_steps(shape, m, renorm, monkeypatch):
    monkeypatch.setattr(batch_renorm, "CLIP_LOG_STEPS", 2)  # the batched clip count runs inside the loop too
    torch.manual_seed(m + len(shape))
    c, four = shape[1], len(shape) == 4
    if renorm:
        layer = (BatchRenorm2d if four else BatchRenorm1d)(c, momentum=0.3, schedule=BITES, microbatch=m)
    else:
        layer = (MicroBatchNorm2d if four else MicroBatchNorm1d)(c, momentum=0.3, microbatch=m)
    layer = layer.double().train()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-0.5, 0.5)
        layer.running_mean.uniform_(-1, 1)
        (layer.running_std if renorm else layer.running_var).uniform_(0.5, 2)
    w, b = layer.weight.detach().clone().requires_grad_(), layer.bias.detach().clone().requires_grad_()
    mu = layer.running_mean.clone()
    spread = (layer.running_std if renorm else layer.running_var).clone()
    clips = torch.zeros(2, c, dtype=torch.long)
    for step in range(3):
        x = (torch.randn(*shape, dtype=torch.float64) * 2 + 1).requires_grad_()
        x_ref = x.detach().clone().requires_grad_()
        y = layer(x)
        y_ref, mu, spread, step_clips = _reference_step(x_ref, w, b, mu, spread, m, layer.eps, 0.3, renorm)
        clips += step_clips
        g = torch.randn_like(y)
        y.backward(g)
        y_ref.backward(g)
        for got, want in [(y, y_ref), (x.grad, x_ref.grad), (layer.weight.grad, w.grad), (layer.bias.grad, b.grad)]:
            assert (got - want).abs().max().item() <= 1e-10
        layer.weight.grad = layer.bias.grad = w.grad = b.grad = None
        assert (layer.running_mean - mu).abs().max().item() <= 1e-12
        assert ((layer.running_std if renorm else layer.running_var) - spread).abs().max().item() <= 1e-12
    if renorm:
        assert torch.equal(layer.clips, clips) and layer.active_steps == 3 and layer.values == 3 * 16 // m
        assert 0 < int(clips.sum()) < 2 * c * 3 * 16 // m  # the clips bite, not everywhere: the count is tested
    assert int(layer.num_batches_tracked) == 3
