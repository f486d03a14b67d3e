"""Huang et al. (2017) Figure 5: how much weight each layer of a dense block puts on the feature maps each
earlier layer (and the block input) contributed.

A cell (s, l) is the mean |w| of target l's weights on the input channels source s produced (over output
channels, those input maps and kernel positions): the L1 norm on s's maps divided by the number of them (and
by the target's outputs and kernel size, the same for every source of one target). Source 0 is the block
input (the stem's or the previous transition's output); targets are the block's conv layers 1..L, then the
transition after the block, or the classifier after the last block.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from deepgen_cli.engine.models.densenet import DenseNet, source_slices


@dataclass
class BlockWeights:
    block: int  # 1-based
    targets: list[str]  # "1".."L", then "transition" or "classifier"
    columns: list[list[float]]  # columns[t][s]: mean |w| of target t on source s; column t has t+1 sources
    # (conv layer l reads sources 0..l-1; the last target reads all L+1)

    def normalized(self) -> list[list[float]]:
        """Each column divided by its largest cell: 1 marks the source a target weighs most, per input map."""
        return [[v / max(col) if max(col) > 0 else 0.0 for v in col] for col in self.columns]

    def matrix(self) -> list[list[float | None]]:
        """The square (source x target) form of the figure; None where a target cannot read the source."""
        n = len(self.columns)
        return [[self.columns[t][s] if s < len(self.columns[t]) else None for t in range(n)] for s in range(n)]


def per_source(weight: Tensor, sources: tuple[int, ...]) -> list[float]:
    """Mean |w| of a conv (out, in, kh, kw) or linear (out, in) weight over each source's input channels."""
    if sum(sources) != weight.shape[1]:
        raise ValueError(f"sources cover {sum(sources)} input channels, the weight has {weight.shape[1]}")
    w = weight.detach().abs().float()
    return [float(w[:, s].mean()) for s in source_slices(sources)]


def block_weights(model: DenseNet) -> list[BlockWeights]:
    """One BlockWeights per dense block of `model`."""
    out = []
    last = len(model.blocks) - 1
    for i, block in enumerate(model.blocks):
        columns = [per_source(layer.conv.weight, layer.sources) for layer in block.layers]
        after = model.transitions[i].conv if i < last else model.classifier
        columns.append(per_source(after.weight, block.sources))
        targets = [str(j + 1) for j in range(len(block.layers))] + ["transition" if i < last else "classifier"]
        out.append(BlockWeights(i + 1, targets, columns))
    return out
