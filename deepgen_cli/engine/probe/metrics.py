"""Beyond the paper: control-task labels for probe selectivity (Hewitt & Liang 2019) and linear CKA
between layers (Kornblith et al. 2019), computed from Gram matrices of a fixed example set with the unbiased
HSIC estimator (Song et al. 2012).
"""

from __future__ import annotations

import torch

# Inputs are quantized to 1/256 before hashing, so the same example always gets the same control label
# whatever batch it arrives in (float sums of different batch sizes may differ in the last bit).
_QUANT = 256.0
_PRIME = 2_147_483_647  # 2^31 - 1


def control_labels(x: torch.Tensor, classes: int, seed: int = 0) -> torch.Tensor:
    """A random label per example, fixed by the example's content and `seed`: the control task.

    A hash of the (quantized) pixels, not of the position in the data set, so it also works on the
    batches a training loop hands over without their indices.
    """
    flat = (x.detach().reshape(x.shape[0], -1).float() * _QUANT).round().long()
    g = torch.Generator().manual_seed(seed + 7919)
    weights = torch.randint(1, 1 << 20, (flat.shape[1],), generator=g).to(flat.device)
    h = torch.remainder((flat * weights).sum(1), _PRIME)  # sum < 2^20 * 256 * |x|max * features << 2^63
    h = torch.remainder(h * 48_271, _PRIME)  # a multiplicative-congruential step mixes the residue (< 2^47)
    return torch.remainder(h, classes)


def selectivity(task_accuracy: float, control_accuracy: float) -> float:
    """Task accuracy minus control-task accuracy, both on the training examples: how much of a probe's
    accuracy comes from the features rather than from the probe memorizing labels."""
    return task_accuracy - control_accuracy


# Feature columns converted to fp64 at a time: a (128, 559k) layer would need two 570 MB fp64 copies at once.
GRAM_CHUNK = 8192


def centered_gram(features: torch.Tensor) -> torch.Tensor:
    """H K H for the linear kernel K = X X^T of (n, ...) features, in fp64 for a stable ratio and summed
    over chunks of feature columns (centering each column centers the Gram matrix)."""
    x = features.detach().reshape(features.shape[0], -1)
    gram = torch.zeros(x.shape[0], x.shape[0], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[1], GRAM_CHUNK):
        part = x[:, start:start + GRAM_CHUNK].double()
        part -= part.mean(0, keepdim=True)
        gram.addmm_(part, part.T)
    return gram


from deepgen_cli.engine.probe.config import CKA_MIN_EXAMPLES  # noqa: E402,F401  (declared with --cka-examples)


def unbiased_center(gram: torch.Tensor) -> torch.Tensor:
    """The Gram matrix centered so that <Ka, Kb>_F / (n (n - 3)) is Song et al.'s (2012) unbiased HSIC
    estimator (the form Kornblith et al. 2019 and Nguyen et al. 2021 use): the diagonal is zeroed and row and
    column means are removed with U-statistic weights. Adding f(i) + g(j) + const to K leaves it unchanged,
    so Grams of column-centered features give the same result as raw ones."""
    g = gram.clone()
    n = g.shape[0]
    g.fill_diagonal_(0)
    means = g.sum(0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    g -= means[:, None]
    g -= means[None, :]
    g.fill_diagonal_(0)
    return g


def linear_cka(gram_a: torch.Tensor, gram_b: torch.Tensor, unbiased: bool = True) -> float:
    """<Ka, Kb>_F / (||Ka||_F ||Kb||_F) for centered Gram matrices: 1 for features that are the same up
    to rotation and scale, near 0 for unrelated ones.

    The biased form (plain centered Grams) drifts towards 1 when features are much wider than the n examples:
    each Gram is then dominated by its diagonal (every example's own squared norm), and any two such Grams
    look alike. The unbiased form drops the diagonal terms; on independent features it scatters around 0.
    """
    if unbiased:
        if gram_a.shape[0] < CKA_MIN_EXAMPLES:
            return float("nan")
        gram_a, gram_b = unbiased_center(gram_a), unbiased_center(gram_b)
    num = (gram_a * gram_b).sum()
    den = gram_a.norm() * gram_b.norm()
    if den == 0:
        return float("nan")
    return float(num / den)
