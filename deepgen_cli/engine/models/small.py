"""Small networks for training runs: the CIFAR models of Zhang et al. (2017, appendix A) and a convnet.

Builders take `in_channels`, `image_size` (side in pixels) and `num_classes`, so tests build tiny ones.
"""

from __future__ import annotations

import torch
from torch import nn



def _mlp(widths: list[int], in_channels: int, image_size: int, num_classes: int, dropout: float) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = in_channels * image_size * image_size
    for width in widths:
        layers += [nn.Linear(fan_in, width), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        fan_in = width
    layers.append(nn.Linear(fan_in, num_classes))
    return nn.Sequential(*layers)


def mlp1x512(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, dropout: float = 0.0):
    return _mlp([512], in_channels, image_size, num_classes, dropout)


def mlp1x8(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, dropout: float = 0.0):
    # 610 weights on digits: fits the 1,347 true labels (95% test accuracy) but only ~17% of random ones in 300 epochs
    return _mlp([8], in_channels, image_size, num_classes, dropout)


def mlp3x512(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, dropout: float = 0.0):
    return _mlp([512, 512, 512], in_channels, image_size, num_classes, dropout)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def cnn(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, width: int = 32, dropout: float = 0.0):
    return nn.Sequential(
        _conv(in_channels, width, 3), nn.MaxPool2d(2),
        _conv(width, 2 * width, 3), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * 4, num_classes),
    )


def mlp_bn(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, widths: tuple[int, ...] = (128, 128, 128)):
    """Each batch norm statistic pools only the minibatch's (or microbatch's) examples: m values for m
    examples, where batch norm's estimates are poorest (Ioffe 2017's setting at its most visible)."""
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = in_channels * image_size * image_size
    for width in widths:
        layers += [nn.Linear(fan_in, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
        fan_in = width
    layers.append(nn.Linear(fan_in, num_classes))
    return nn.Sequential(*layers)


def cnn_deep(in_channels: int = 1, image_size: int = 8, num_classes: int = 10):
    """On 8x8 digits the later norms see 2x2 maps (4m values per statistic) and a 128-unit layer (m values)."""
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    side = image_size // 4
    return nn.Sequential(*block(in_channels, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2),
                         *block(32, 64), *block(64, 64), nn.Flatten(),
                         nn.Linear(64 * side * side, 128), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
                         nn.Linear(128, num_classes))


def alexnet_small(in_channels: int = 3, image_size: int = 28, num_classes: int = 10, dropout: float = 0.0):
    features = nn.Sequential(
        nn.Conv2d(in_channels, 64, 5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, padding=1), nn.LocalResponseNorm(5),
        nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, padding=1), nn.LocalResponseNorm(5),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, in_channels, image_size, image_size)).numel()
    return nn.Sequential(features, nn.Flatten(),
                         nn.Linear(flat, 384), nn.ReLU(inplace=True), nn.Dropout(dropout),
                         nn.Linear(384, 192), nn.ReLU(inplace=True), nn.Dropout(dropout),
                         nn.Linear(192, num_classes))


class _Inception(nn.Module):
    """1x1 and 3x3 conv branches, concatenated along channels."""

    def __init__(self, cin: int, c1: int, c3: int):
        super().__init__()
        self.b1, self.b3 = _conv(cin, c1, 1), _conv(cin, c3, 3)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x)], 1)


class _Downsample(nn.Module):
    """3x3 stride-2 conv and 3x3 stride-2 max pool, concatenated."""

    def __init__(self, cin: int, c3: int):
        super().__init__()
        self.conv, self.pool = _conv(cin, c3, 3, 2), nn.MaxPool2d(3, 2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


def inception_small(in_channels: int = 3, image_size: int = 28, num_classes: int = 10, dropout: float = 0.0):
    del image_size  # global average pooling makes the net size-agnostic
    return nn.Sequential(
        _conv(in_channels, 96, 3),
        _Inception(96, 32, 32), _Inception(64, 32, 48), _Downsample(80, 80),
        _Inception(160, 112, 48), _Inception(160, 96, 64), _Inception(160, 80, 80), _Inception(160, 48, 96),
        _Downsample(144, 96),
        _Inception(240, 176, 160), _Inception(336, 176, 160),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(336, num_classes),
    )
