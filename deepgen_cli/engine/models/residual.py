"""A small residual network and the same network without its skip connections (Veit et al. 2016's comparison:
ResNet against a plain VGG-like stack), for 8x8 digits: a 3x3 stem, `blocks` blocks of two 3x3 conv-BN layers at
one width and side (no downsampling block), global average pooling and a linear classifier. `blocks` is an
nn.ModuleList, so a block can be swapped for nn.Identity at test time (drop_blocks deletes them)."""

from __future__ import annotations

from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self, width: int, skip: bool):
        super().__init__()
        self.skip = skip
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return (x + y if self.skip else y).relu()


class SmallResNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int, blocks: int, skip: bool):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(Block(width, skip) for _ in range(blocks))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def resnet_small(in_channels: int = 1, num_classes: int = 10, width: int = 16, blocks: int = 6) -> SmallResNet:
    return SmallResNet(in_channels, num_classes, width, blocks, skip=True)


def plain_small(in_channels: int = 1, num_classes: int = 10, width: int = 16, blocks: int = 6) -> SmallResNet:
    return SmallResNet(in_channels, num_classes, width, blocks, skip=False)
