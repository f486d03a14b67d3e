"""The probe's data: kept in memory at its stored size and brought to the model's input size one batch at a
time, so probing a 224x224 model holds 8x8 digits, not 224x224 copies of every image (1 GiB for digits).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from deepgen_cli.engine import data as data_mod

STATS_CHUNK = 256  # images resized at a time while measuring the resized training set's mean and std


class Fed(nn.Module):
    """`model` with its input map in front: resize to `side` and standardize with the resized training
    set's per-channel statistics (what data.load does for --image-size, up to float rounding, since both
    steps are affine per channel), then repeat a gray channel for an RGB stem. Holds no parameters and
    draws no random numbers, so training `Fed(model)` trains `model` exactly as it would be trained alone.
    """

    def __init__(self, model: nn.Module, side: int, channels: int, mean: Tensor | None = None,
                 std: Tensor | None = None):
        super().__init__()
        self.model, self.side, self.channels = model, side, channels
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def inputs(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.side:
            x = (data_mod.resize(x, self.side) - self.mean) / self.std
        if x.shape[1] != self.channels:
            x = x.repeat(1, self.channels // x.shape[1], 1, 1)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.inputs(x))


def data_config(config) -> data_mod.DataConfig:
    """The data options of a ProbeConfig (check it with data.check: --image-size included)."""
    return data_mod.config_for(config)


def load_data(config, model_channels: int):
    """(data at its stored size, side the model sees, channels the model sees) for a ProbeConfig."""
    data = data_mod.load(dataclasses.replace(data_config(config), image_size=None))  # resized per batch
    side = config.image_size or data.image_size
    channels = 3 if data.in_channels == 1 and model_channels == 3 else data.in_channels
    return data, side, channels


def resized_stats(x: Tensor, side: int) -> tuple[Tensor, Tensor]:
    """Per-channel mean and (unbiased) std of `x` resized to `side`, as data.load computes them on the
    resized set, but summed over chunks of images so the resized set never exists whole."""
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for part in x.split(STATS_CHUNK):
        r = data_mod.resize(part, side).double()
        total += r.sum((0, 2, 3))
        squares += (r * r).sum((0, 2, 3))
    n = x.shape[0] * side * side
    mean = total / n
    var = (squares - n * mean * mean) / max(n - 1, 1)
    std = var.clamp_min(0).sqrt().clamp_min(1e-6)  # a constant channel stays finite, as in data.load
    return mean.float().view(1, -1, 1, 1), std.float().view(1, -1, 1, 1)


def feed(model: nn.Module, data, side: int, channels: int) -> Fed:
    if side == data.image_size:
        return Fed(model, side, channels)
    mean, std = resized_stats(data.x_train, side)
    return Fed(model, side, channels, mean, std)
