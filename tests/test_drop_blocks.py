"""drop-blocks: deleting a block makes it the identity (and puts it back), and the verdicts' rule on paired losses."""

import torch

from deepgen_cli.engine import models
from deepgen_cli.engine.data import Dataset
from deepgen_cli.engine.drop_blocks import DropBlocksRow, deleted_accuracies, findings


def test_deleting_a_block_is_the_identity_and_is_undone():
    torch.manual_seed(0)
    net = models.create("resnet-small", num_classes=3, in_channels=1).eval()
    x = torch.randn(6, 1, 8, 8)
    before = net(x)
    # a residual block whose branch outputs 0 is the identity already (relu of a non-negative input)
    block = net.blocks[1]
    torch.nn.init.zeros_(block.body[4].weight)
    torch.nn.init.zeros_(block.body[4].bias)
    kept = net(x)
    data = Dataset("toy", x, torch.zeros(6, dtype=torch.long), x, kept.argmax(1), 3)
    acc = deleted_accuracies(net, data, "cpu")
    assert len(acc) == 1 + len(net.blocks) and acc[0] == 1.0 and acc[2] == 1.0  # deleting block 2 changes nothing
    assert net.blocks[1] is block and torch.equal(net(x), kept)  # put back
    assert not torch.equal(before, kept)
    plain = models.create("plain-small", num_classes=3, in_channels=1)
    assert not any(b.skip for b in plain.blocks) and all(b.skip for b in net.blocks)


def _rows(network, whole, losses):
    """whole[seed]; losses[block][seed], 0..1."""
    rows = [DropBlocksRow(network, s, 0, a, 0.0) for s, a in enumerate(whole)]
    for b, per_seed in enumerate(losses, 1):
        rows += [DropBlocksRow(network, s, b, whole[s] - d, d) for s, d in enumerate(per_seed)]
    return rows


WHOLE = [0.98, 0.97, 0.99]  # margin: a tenth of (0.98 - 0.10) = 8.8 points


def test_most_blocks_cheap_is_yes_and_plain_collapse_is_its_contrast():
    cheap, costly = [0.01, 0.02, 0.015], [0.6, 0.7, 0.65]
    rows = _rows("residual", WHOLE, [costly, cheap, cheap, cheap]) + _rows("plain", WHOLE, [costly] * 4)
    claim, plain = findings.findings(rows, ("residual", "plain"), 4, 10)
    assert claim.reproduced is True and "3 of 4 blocks shown to cost under 8.8 points" in claim.measured
    assert plain.reproduced is True
    # the control: the claim judged on the plain network alone must say no
    control = findings.findings(_rows("plain", WHOLE, [costly] * 4), ("plain",), 4, 10)[0]
    assert control.reproduced is False and "control" in control.measured


def test_half_costly_is_no_and_straddling_cannot_tell():
    cheap, costly, wide = [0.01, 0.02, 0.015], [0.6, 0.7, 0.65], [0.0, 0.3, 0.05]
    no = findings.findings(_rows("residual", WHOLE, [costly, costly, cheap, cheap]), ("residual",), 4, 10)[0]
    assert no.reproduced is False
    unsure = findings.findings(_rows("residual", WHOLE, [wide, wide, cheap, costly]), ("residual",), 4, 10)[0]
    assert unsure.reproduced is None and "straddle" in unsure.reason
    untrained = findings.findings(_rows("residual", [0.1, 0.11, 0.09], [cheap] * 4), ("residual",), 4, 10)[0]
    assert untrained.reproduced is None and "floor 55%" in untrained.reason
