"""Probing passes over a data set: train probes on a frozen model one batch at a time (each layer's
features are reduced and folded into its probe inside the hook, then dropped), score them, and CKA.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepgen_cli.engine.modes import eval_mode
from deepgen_cli.engine.probe.heads import ProbeBank, Tally
from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.layers import INPUT, Layer, tap
from deepgen_cli.engine.probe.metrics import CKA_MIN_EXAMPLES, centered_gram, linear_cka
from deepgen_cli.engine.probe.reduce import MB, Reducer, Reduction, plan, probe_bytes


@dataclass
class Probed:
    """One layer with its reduction, its reducer and its probe."""

    layer: Layer
    reduction: Reduction
    reducer: Reducer
    probe: ProbeBank | None = None  # this layer's own bank (post hoc) or the bank of all layers (training)

    def bytes(self, classes: int) -> int:
        return probe_bytes(self.reduction.out_features, classes)


def prepare(layers: list[Layer], classes: int, kind: str, budget_mb: float, seed: int, device) -> list[Probed]:
    out = []
    for i, layer in enumerate(layers):
        r = plan(layer.shape, classes, kind, budget_mb, seed=seed * 1000 + i)
        out.append(Probed(layer, r, Reducer(r, device)))
    return out


def groups(probed: list[Probed], size, total_mb: float) -> list[list[Probed]]:
    """Consecutive layers whose `size(probed)` bytes fit `total_mb` together: one pass over the data per
    group, so a model with hundreds of layers is probed a few layers at a time instead of all at once."""
    out: list[list[Probed]] = [[]]
    used = 0
    for p in probed:
        size_p = size(p)
        if out[-1] and used + size_p > total_mb * MB:
            out.append([])
            used = 0
        out[-1].append(p)
        used += size_p
    return out


def forward_layers(fed: Fed, group: list[Probed], x: torch.Tensor, fn, into: dict | None = None) -> None:
    """Run the batch `x` through the model, calling fn(probed, reduced features) for each layer as it is
    reached (the features are written into `into[name]`, a slice of a caller's buffer, when given)."""
    by_name = {p.layer.name: p for p in group}
    into = into or {}

    def reached(name: str, out: torch.Tensor) -> None:
        fn(by_name[name], by_name[name].reducer(out, into.get(name)))

    x = fed.inputs(x)
    if INPUT in by_name:
        reached(INPUT, x)
    hooked = [n for n in by_name if n != INPUT]
    if hooked:
        with tap(fed.model, hooked, reached):
            fed.model(x)


def batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return order.split(batch_size)


def train_probes(fed: Fed, group: list[Probed], x: torch.Tensor, y: torch.Tensor, *, classes: int,
                 epochs: int, batch_size: int, lr: float, seed: int, device, progress=None) -> None:
    """Fit each probe of the group on the frozen model's features: `epochs` passes in seeded order."""
    for p in group:
        p.probe = ProbeBank([p.reduction.out_features], classes, lr, device, stats_momentum=None)
    g = torch.Generator().manual_seed(seed)
    current = {}

    def fold(p: Probed, feats: torch.Tensor) -> None:
        if feats.shape[0] > 1:  # standardizing needs two examples
            p.probe.step(feats, current["y"], scratch=True)  # the reducer's own copy

    with eval_mode(fed), torch.no_grad():  # the frozen model's eval-mode features; its own mode afterwards
        for epoch in range(epochs):
            if progress:
                progress(f"probes on {group[0].layer.name}..{group[-1].layer.name}: pass {epoch + 1}/{epochs}")
            for idx in batches(len(x), batch_size, g):
                current["y"] = y[idx].to(device)
                forward_layers(fed, group, x[idx].to(device), fold)


def score(fed: Fed, group: list[Probed], x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
          device) -> dict[str, Tally]:
    """Which examples of (x, y) each probe gets right, in order, the model in eval mode."""
    tallies = {p.layer.name: Tally() for p in group}
    current = {}

    def count(p: Probed, feats: torch.Tensor) -> None:
        tallies[p.layer.name].add(p.probe.correct(feats, current["y"])[0])

    with eval_mode(fed), torch.no_grad():
        for idx in batches(len(x), batch_size, None):
            current["y"] = y[idx].to(device)
            forward_layers(fed, group, x[idx].to(device), count)
    return tallies


def cka_series(fed: Fed, probed: list[Probed], x: torch.Tensor, device) -> dict[str, float]:
    """Unbiased linear CKA of each layer's probe input with the previous layer's, on one batch of examples
    (a Gram matrix is n x n, so only these n examples are held; the layers' features are not)."""
    if len(x) < CKA_MIN_EXAMPLES:
        return {}
    grams: dict[str, torch.Tensor] = {}

    def keep(p: Probed, feats: torch.Tensor) -> None:
        grams[p.layer.name] = centered_gram(feats)

    with eval_mode(fed), torch.no_grad():
        forward_layers(fed, probed, x.to(device), keep)
    out = {}
    for prev, cur in zip(probed, probed[1:]):
        a, b = grams.get(prev.layer.name), grams.get(cur.layer.name)
        if a is not None and b is not None:
            out[cur.layer.name] = linear_cka(a, b)
    return out
