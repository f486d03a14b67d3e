"""The original DenseNet (Huang et al. 2017; not BC: no bottleneck, no compression), built so that every
convolution knows which earlier layer produced which of its input channels (for Figure 5's feature reuse).

Each dense layer is BN-ReLU-Conv3x3 with `growth` output maps, fed the concatenation, in order, of its block's
input and the outputs of every earlier layer of the block. A block's `sources` lists those channel counts;
transitions (BN-ReLU-Conv1x1, same width, AvgPool 2) and the classifier read the whole last concatenation.
"""

from __future__ import annotations

import torch
from torch import nn


# The paper's stem for DenseNets without bottlenecks: "a convolution with 16 output channels".
STEM_CHANNELS = 16


def source_slices(sources: tuple[int, ...]) -> list[slice]:
    """Input-channel ranges of each source, in concatenation order: (16, 12, 12) -> [0:16, 16:28, 28:40]."""
    out, start = [], 0
    for n in sources:
        out.append(slice(start, start + n))
        start += n
    return out


class DenseLayer(nn.Module):
    def __init__(self, sources: tuple[int, ...], growth: int):
        super().__init__()
        self.sources = sources  # channels from the block input, then from each earlier layer of the block
        cin = sum(sources)
        self.norm = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv(self.relu(self.norm(x)))


class DenseBlock(nn.Module):
    def __init__(self, cin: int, layers: int, growth: int):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer((cin,) + (growth,) * i, growth) for i in range(layers))
        self.sources = (cin,) + (growth,) * layers  # channels of the block's output, by source

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class Transition(nn.Module):
    def __init__(self, sources: tuple[int, ...]):
        super().__init__()
        self.sources = sources  # the preceding block's output, by source
        cin = sum(sources)
        self.norm = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(cin, cin, 1, bias=False)  # no compression in the original DenseNet
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(self.relu(self.norm(x))))


class DenseNet(nn.Module):
    def __init__(self, layers_per_block: tuple[int, ...] = (12, 12, 12), growth: int = 12,
                 num_classes: int = 10, in_channels: int = 3, stem: int = STEM_CHANNELS):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)
        channels = stem
        blocks, transitions = [], []
        for i, n in enumerate(layers_per_block):
            block = DenseBlock(channels, n, growth)
            blocks.append(block)
            channels = sum(block.sources)
            if i < len(layers_per_block) - 1:
                transitions.append(Transition(block.sources))
        self.blocks = nn.ModuleList(blocks)
        self.transitions = nn.ModuleList(transitions)
        self.norm = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)  # its inputs: the last block's output, by source

    def forward(self, x):
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.transitions):
                x = self.transitions[i](x)
        return self.classifier(torch.flatten(self.pool(self.relu(self.norm(x))), 1))


def densenet_40_k12(num_classes: int = 10, in_channels: int = 3, **kw) -> nn.Module:
    # depth 40 = stem conv + 3 blocks x 12 conv layers + 2 transitions + classifier
    return DenseNet((12, 12, 12), 12, num_classes=num_classes, in_channels=in_channels, **kw)


def densenet_small(num_classes: int = 10, in_channels: int = 3, **kw) -> nn.Module:
    return DenseNet((4, 4, 4), 12, num_classes=num_classes, in_channels=in_channels, **kw)
