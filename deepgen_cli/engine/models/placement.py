"""Two convnets equal but for where they downsample (Iandola et al. 2016, strategy 3: downsample late, so that
the convolution layers have large activation maps): four 3x3 conv-BN-ReLU layers of one width, two of them
strided, then global average pooling and a linear classifier."""

from __future__ import annotations

from torch import nn


def strided_cnn(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, width: int = 32,
                strides: tuple[int, ...] = (2, 2, 1, 1)) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = in_channels
    for s in strides:
        layers += [nn.Conv2d(cin, width, 3, s, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


def cnn_early(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, width: int = 32) -> nn.Sequential:
    """Strided first and second layers: 8x8 digits are 4x4 after the first, 2x2 for the last three."""
    return strided_cnn(in_channels, image_size, num_classes, width, (2, 2, 1, 1))


def cnn_late(in_channels: int = 1, image_size: int = 8, num_classes: int = 10, width: int = 32) -> nn.Sequential:
    """Strided third and fourth layers: the first three see 8x8 maps, the last 4x4 in and 2x2 out."""
    return strided_cnn(in_channels, image_size, num_classes, width, (1, 1, 2, 2))
