"""downsample: the two networks' Mult-Adds counted by hand, and the verdict's rule on paired accuracies."""

import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.downsample import DownsampleRow, findings


def test_mult_adds_by_hand():
    x = torch.zeros(1, 1, 8, 8)
    early = models.create("cnn-early", num_classes=10, in_channels=1, image_size=8)
    late = models.create("cnn-late", num_classes=10, in_channels=1, image_size=8)
    # 3x3 convs of width 32 (9 * cin * 32 per output pixel) and a 32 -> 10 classifier:
    # early: 4x4 x 9x1x32 + 3 x (2x2 x 9x32x32) + 320 = 4,608 + 110,592 + 320
    assert measure.mult_adds(early, x).total == 115_520
    # late: 8x8 x 9x1x32 + 8x8 x 9x32x32 + 4x4 x 9x32x32 + 2x2 x 9x32x32 + 320
    assert measure.mult_adds(late, x).total == 18_432 + 589_824 + 147_456 + 36_864 + 320
    assert measure.count_params(early) == measure.count_params(late)  # equal but for the strides


def _rows(early, late):
    return [DownsampleRow(p, p, s, 1 if p == "early" else 7, 1, 1.0, a)
            for s, (e, l) in enumerate(zip(early, late)) for p, a in (("early", e), ("late", l))]


def test_rule():
    yes = findings.findings(_rows([0.97, 0.98, 0.975], [0.99, 0.995, 0.99]), 10)[0]
    assert yes.reproduced is True
    # equal placement (the control): the same network, gain 0 in every seed -> shown under the 1-point margin
    same = findings.findings(_rows([0.97, 0.98, 0.975], [0.97, 0.98, 0.975]), 10)[0]
    assert same.reproduced is False
    wide = findings.findings(_rows([0.97, 0.98, 0.975], [0.99, 0.96, 0.99]), 10)[0]
    assert wide.reproduced is None and "too wide" in wide.reason
    chance = findings.findings(_rows([0.1, 0.11, 0.09], [0.2, 0.21, 0.22]), 10)[0]
    assert chance.reproduced is None and "floor 55%" in chance.reason
