"""MobileNet v1 (Howard et al. 2017, Table 1), with width multiplier alpha; and its standard-conv twin."""

from __future__ import annotations

from torch import nn


# (output channels, stride) of each depthwise separable layer after the 3x3 stem, per Table 1.
# The paper's table lists stride 2 for the last dw layer; every implementation (and its 7x7 feature
# map before the 7x7 average pool) uses stride 1 there, so do we.
BODY = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
STEM = 32


def _width(channels: int, alpha: float) -> int:
    # The paper applies alpha to every layer's channels; at least one channel survives.
    return max(1, int(channels * alpha))


def _conv_bn(cin: int, cout: int, stride: int, groups: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, in_channels: int = 3,
                 separable: bool = True, dropout: float = 0.0):
        super().__init__()
        cin = _width(STEM, width_mult)
        layers = [_conv_bn(in_channels, cin, 2)]
        for cout, stride in BODY:
            cout = _width(cout, width_mult)
            if separable:
                # depthwise 3x3 (one filter per channel) then pointwise 1x1
                layers.append(nn.Sequential(_conv_bn(cin, cin, stride, groups=cin),
                                            _conv_bn(cin, cout, 1, kernel=1)))
            else:
                layers.append(_conv_bn(cin, cout, stride))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


def mobilenet(width_mult: float = 1.0, num_classes: int = 1000, in_channels: int = 3, **kw) -> nn.Module:
    return MobileNetV1(width_mult, num_classes, in_channels, separable=True, **kw)


def mobilenet_conv(width_mult: float = 1.0, num_classes: int = 1000, in_channels: int = 3, **kw) -> nn.Module:
    return MobileNetV1(width_mult, num_classes, in_channels, separable=False, **kw)
