"""Over-confidence on the test set (Pereyra et al. 2017): expected calibration error, the share of predictions
made with max probability >= 0.99, and the histogram of max probabilities their Figure 1 draws."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepgen_cli.engine.modes import eval_mode

ECE_BINS = 15  # equal-width confidence bins, as Guo et al. (2017) report ECE
CONFIDENT = 0.99  # a prediction this sure or surer counts as over-confident (Pereyra's Figure 1: mass at 1)
HIST_BINS = 20  # max-probability histogram: bins of 0.05 over [0, 1]


@dataclass
class Calibration:
    ece: float  # expected calibration error, 0..1
    confident_fraction: float  # share of predictions with max probability >= CONFIDENT
    max_prob_hist: list[int]  # counts of max probability in HIST_BINS equal bins over [0, 1]
    mean_confidence: float  # mean max probability: above the accuracy is over-confident, below under-confident


def bin_index(confidence: Tensor, bins: int) -> Tensor:
    """Bin m (0-based) holds confidences in (m/bins, (m+1)/bins]; 0 goes to the first bin."""
    return (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)


def expected_calibration_error(confidence: Tensor, correct: Tensor, bins: int = ECE_BINS) -> float:
    """sum over bins of |bin| / n * |accuracy(bin) - mean confidence(bin)|."""
    n = len(confidence)
    if n == 0:
        return 0.0
    idx = bin_index(confidence.double(), bins)
    conf_sum = torch.bincount(idx, weights=confidence.double(), minlength=bins)
    acc_sum = torch.bincount(idx, weights=correct.double(), minlength=bins)
    return float((conf_sum - acc_sum).abs().sum() / n)  # |bin| * |acc - conf| = |sum(correct) - sum(conf)|


def summarize(probs: Tensor, y: Tensor) -> Calibration:
    """Calibration figures of predicted distributions `probs` (N x classes) against labels `y`."""
    confidence, pred = probs.max(dim=1)
    correct = pred == y
    hist = torch.bincount(bin_index(confidence.double(), HIST_BINS), minlength=HIST_BINS)
    if not len(y):
        return Calibration(0.0, 0.0, hist.tolist(), 0.0)
    confident = float((confidence >= CONFIDENT).double().mean())
    return Calibration(expected_calibration_error(confidence, correct), confident, hist.tolist(),
                       float(confidence.double().mean()))


@torch.inference_mode()
def calibration(model: nn.Module, x: Tensor, y: Tensor, device, batch_size: int = 1024) -> Calibration:
    """`summarize` of the model's softmax outputs in eval mode; the model's mode is restored."""
    device = torch.device(device)
    with eval_mode(model):
        probs = [F.softmax(model(x[i:i + batch_size].to(device)).float(), dim=1).cpu()
                 for i in range(0, len(y), batch_size)]
    return summarize(torch.cat(probs) if probs else torch.zeros(0, 1), y)
