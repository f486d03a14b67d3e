"""DenseNet-BC for 32x32 inputs (Huang et al. 2017): three dense blocks, bottlenecks, compression 0.5."""

from __future__ import annotations

import torch
from torch import nn



class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int = 4):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
            nn.Conv2d(cin, bn_size * growth, 1, bias=False),  # bottleneck: 4k channels
            nn.BatchNorm2d(bn_size * growth), nn.ReLU(inplace=True),
            nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False),
        )

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


def _transition(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2))


class DenseNetBC(nn.Module):
    def __init__(self, depth: int = 100, growth: int = 12, compression: float = 0.5,
                 num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        # depth = 3 blocks x n layers x 2 convs + stem conv + 2 transitions + classifier
        n = (depth - 4) // 6
        channels = 2 * growth
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)]
        for block in range(3):
            for _ in range(n):
                layers.append(_DenseLayer(channels, growth))
                channels += growth
            if block < 2:
                out = int(channels * compression)
                layers.append(_transition(channels, out))
                channels = out
        layers += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def densenet_bc_100_k12(num_classes: int = 10, in_channels: int = 3, **kw) -> nn.Module:
    return DenseNetBC(100, 12, num_classes=num_classes, in_channels=in_channels, **kw)
