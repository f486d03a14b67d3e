"""The control task (Hewitt & Liang 2019) with probes fit to convergence: for each layer, a linear probe on the
task labels and one on random per-example labels, both the exact minimizer of a ridge least-squares fit on the
frozen model's (reduced, standardized) features of the whole training set; selectivity is their difference.

Why a closed form: a probe on a layer with more independent features than training examples can fit any
labelling, but only if trained until it does; a few SGD passes leave a control probe near chance there and
selectivity then measures little more than task accuracy minus chance. The least-squares fit on one-hot targets
is a linear classifier like the SGD probe (argmax of an affine map) and is exact: with rank(features) >= n
examples and a small ridge, it reproduces every label. A layer with d <= n features: one pass over the training
set accumulates its d x d normal equations (bounded memory, whatever n), a solve gives the weights, a second
pass scores them (unless the n x d features fit the budget and were kept). With d > n: the n x d features are
kept and the same fit is solved through the n x n kernel matrix (the push-through identity), whose solve also
gives the training predictions and, through the features, primal weights.

The task fit is also the probe the run's verdicts read (findings.py): the exact optimum of its problem at any
width, where a fixed-rate SGD probe on a wide layer ends far from it (25,088 features at 28x28: 54-87% training
error after 4 epochs). Each fit records the relative residual of its solve as its convergence test, and its
per-example outcomes on the test set for the paired tests between layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.modes import eval_mode
from deepgen_cli.engine.probe.heads import EPS
from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.metrics import control_labels
from deepgen_cli.engine.probe.passes import Probed, batches, forward_layers, groups
from deepgen_cli.engine.probe.reduce import MB, Reducer, Reduction

# Ridge penalty per example on standardized features: (Z^T Z + RIDGE * n * I) W = Z^T Y, where Z^T Z has n on
# its diagonal. Small enough to keep interpolation (a direction of the features with 1e-5 of a feature's own
# variance is still fit almost fully; measured on the default cnn, 1e-3 and 1e-5 give control accuracies within
# 2 points), large enough to make the solve well posed when d > n (Z^T Z is then singular) and to keep the fp64
# Cholesky solve accurate (condition number <= d / RIDGE = 2e8 at 2,048 features: 8 good digits).
RIDGE = 1e-5
# Bytes per feature^2: the fp64 normal matrix held while accumulating, and the matrix with its fp64 Cholesky
# factor while solving (one layer at a time). The kernel form holds n x d and solves n x n, less than d x d.
HELD_BYTES, SOLVE_BYTES = 8, 16
# Added to a layer's reduction seed for its control sketch: fixed per layer, whichever layers share a pass.
CONTROL_SEED = 500
# Converged: the solve's relative residual ||A w - b|| / ||b|| at most this. fp64 Cholesky at condition number
# <= 2e8 leaves about 1e-8; a residual above 1e-6 means the factorization lost the digits the fit needs.
RESIDUAL_TOL = 1e-6
# A layer with more independent features than training examples can fit any labelling (the wide layers of a 28x28
# network: 25,088 features on 4,000 images); its probe at the optimum has almost no training error. A fit that reads
# a sketch narrower than the training set (the fit's memory budget), at the sketch's full rank (so the sketch may
# have dropped directions of the layer), and ends above this training error is not shown to be that optimum: its
# row says it did not converge, and the verdicts cannot tell (raise --max-probe-mb for a wider sketch). A sketch of
# lower rank than its width holds the layer's whole span (a generic sketch keeps rank min(rank, width)), so its fit
# is the layer's own: the convolution before a ReLU, a linear map of 784 pixels, stays at the input's error.
WIDE_TRAIN_ERROR = 0.05
# Eigenvalues of the standardized scatter / n (1 per feature on average) above this count towards the rank; fp32
# features carry ~1e-7 relative noise, whose square is far below it.
RANK_TOL = 1e-6


def control_width(features: int, budget_mb: float) -> int:
    """Features a control fit reads within `budget_mb`: the probe's own, or a count sketch of them down to
    floor(sqrt(budget / 16 B)) (2,048 at 64 MiB). A sketch to d' >= n columns keeps an n-example feature
    matrix's rank (generically), so memorization is judged fairly while n <= d'."""
    return max(1, min(features, math.isqrt(int(budget_mb * MB) // SOLVE_BYTES)))


@dataclass
class ControlFit:
    features: int  # columns the fit read (a sketch of the probe input when fewer)
    task_accuracy: float  # the converged probe on the task labels, on the training examples
    control_accuracy: float | None  # the converged probe on the control labels (None: --no-control)
    residual: float = 0.0  # relative residual of the solve (see RESIDUAL_TOL)
    test_correct: torch.Tensor | None = None  # (test examples,) bools: the task fit on the test set, in order
    layer_features: int = 0  # the probe input's own width (features is the sketch's, when narrower)
    examples: int = 0  # training examples fit
    rank: int | None = None  # numerical rank of the sketched features (only where the sketch is narrower than n)

    @property
    def converged(self) -> bool:
        """The solve is exact, and a layer wider than the training set is fit as well as its width allows."""
        lossy = self.rank is not None and self.rank >= self.features  # a full-rank sketch short of n examples
        return self.residual <= RESIDUAL_TOL and not (lossy and 1 - self.task_accuracy > WIDE_TRAIN_ERROR)


class _Normal:
    """Sums for one layer's least-squares fit in fp64, about a shift (the first batch's mean, so the centered
    products do not cancel). fp64 products cost about what fp32 ones summed into fp64 do (measured on CPU: 0.8 s
    vs 2.7 s for 21 batches of 64 x 2048, the mixed-type add being the slow part)."""

    def __init__(self, d: int, n: int, outputs: int, device, keep: bool = False, rank: bool = False):
        self.want_rank, self.rank = rank, None
        self.zz = torch.zeros(d, d, dtype=torch.float64, device=device)
        # The features themselves (fp32), when they fit: the training predictions then need no second pass.
        self.kept = torch.empty(n, d, device=device) if keep else None
        self.zy = torch.zeros(d, outputs, dtype=torch.float64, device=device)
        self.z_sum = torch.zeros(d, dtype=torch.float64, device=device)
        self.y_sum = torch.zeros(outputs, dtype=torch.float64, device=device)
        self.n = 0
        self.shift = None

    def add(self, z: torch.Tensor, t: torch.Tensor) -> None:
        """Fold in a batch of features z with one-hot targets t (fp64)."""
        if self.shift is None:
            self.shift = z.mean(0)
        if self.kept is not None:
            self.kept[self.n:self.n + z.shape[0]] = z
        z = (z - self.shift).double()
        self.zz.addmm_(z.T, z)
        self.zy.addmm_(z.T, t)
        self.z_sum += z.sum(0)
        self.y_sum += t.sum(0)
        self.n += z.shape[0]

    def solve(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(center, W, y_mean) with predictions (f - center) @ W + y_mean for raw features f."""
        n = self.n
        mu, y_mean = self.z_sum / n, self.y_sum / n
        a, self.zz = self.zz, None
        a -= n * torch.outer(mu, mu)  # centered scatter
        s = (a.diagonal() / n + EPS).rsqrt()  # standardize as the SGD probes do
        a *= s[:, None] * s[None, :]
        if self.want_rank:
            self.rank = int((torch.linalg.eigvalsh(a) > RANK_TOL * n).sum())
        a.diagonal().add_(RIDGE * n)
        rhs = (self.zy - n * torch.outer(mu, y_mean)) * s[:, None]
        w = torch.cholesky_solve(rhs, _cholesky(a))
        self.residual = _relative(a @ w - rhs, rhs)
        return (self.shift + mu.float()), (w * s[:, None]).float(), y_mean.float()


class _Kernel:
    """The same fit for d > n features, through the n x n kernel: with standardized, centered features Z and
    targets Y, (Z^T Z + r I)^-1 Z^T = Z^T (Z Z^T + r I)^-1, so the training predictions are
    Z W = K (K + r I)^-1 Y = Y - r (K + r I)^-1 Y."""

    def __init__(self, d: int, n: int, outputs: int, device):
        self.z = torch.empty(n, d, dtype=torch.float64, device=device)
        self.t = torch.empty(n, outputs, dtype=torch.float64, device=device)
        self.n = 0

    def add(self, z: torch.Tensor, t: torch.Tensor) -> None:
        self.z[self.n:self.n + z.shape[0]] = z
        self.t[self.n:self.n + z.shape[0]] = t
        self.n += z.shape[0]

    def predictions(self) -> torch.Tensor:
        """(n, outputs) training predictions, in the order the examples were added."""
        return self.solve()[3]

    def solve(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(center, W, y_mean) as _Normal.solve gives them (W = s Z^T alpha), and the training predictions."""
        z, n = self.z, self.n
        mu = z.mean(0)
        z -= mu
        s = (z.square().mean(0) + EPS).rsqrt()
        z *= s
        k = z @ z.T
        k.diagonal().add_(RIDGE * n)
        y_mean = self.t.mean(0)
        yc = self.t - y_mean
        alpha = torch.cholesky_solve(yc, _cholesky(k))
        self.residual = _relative(k @ alpha - yc, yc)
        w = (z.T @ alpha) * s[:, None]
        self.z = None
        return mu.float(), w.float(), y_mean.float(), yc - RIDGE * n * alpha + y_mean


def _relative(residual: torch.Tensor, rhs: torch.Tensor) -> float:
    return float(residual.norm() / rhs.norm().clamp_min(1e-300))


def _cholesky(a: torch.Tensor) -> torch.Tensor:
    factor, info = torch.linalg.cholesky_ex(a)
    if int(info) != 0:  # not positive definite in fp64: cannot happen with the ridge, barring nan/inf features
        raise RunError("control probes: a layer's features are not finite, so no least-squares fit exists; "
                       "try --no-control")
    return factor


def fit_controls(fed: Fed, probed: list[Probed], x: torch.Tensor, y: torch.Tensor, *, classes: int, seed: int,
                 batch_size: int, budget_mb: float, total_mb: float, device, progress=None, control: bool = True,
                 x_test: torch.Tensor | None = None, y_test: torch.Tensor | None = None) -> dict[str, ControlFit]:
    """Task (and, with `control`, control) probes fit to convergence on each layer's features of (x, y), the model
    frozen in eval mode: layers a few at a time (what their fits hold within `total_mb`), one or two passes over x
    per group, and one over (x_test, y_test) when given, to score the task fit there."""
    n = len(x)
    y_ctrl = control_labels(x, classes, seed) if control else None
    one_hot = [torch.nn.functional.one_hot(y, classes)] + ([torch.nn.functional.one_hot(y_ctrl, classes)]
                                                           if control else [])
    targets = torch.cat(one_hot, 1).double()
    outputs = targets.shape[1]
    width = {p.layer.name: control_width(p.reduction.out_features, budget_mb) for p in probed}
    sketch = {p.layer.name: Reducer(Reduction("project", (p.reduction.out_features,), width[p.layer.name],
                                              seed=CONTROL_SEED + p.reduction.seed), device)
              for p in probed if width[p.layer.name] < p.reduction.out_features}
    # d <= n: the normal matrix, plus the n x d fp32 features when they fit the budget (no second pass then);
    # d > n: the n x d fp64 features for the kernel form.
    keep = {name for name, d in width.items() if d <= n and 4 * n * d <= budget_mb * MB}
    held = {name: HELD_BYTES * d * min(d, n) + (4 * n * d if name in keep else 0) for name, d in width.items()}
    fits: dict[str, ControlFit] = {}

    def features(p: Probed, feats: torch.Tensor) -> torch.Tensor:
        s = sketch.get(p.layer.name)
        return feats if s is None else s(feats)

    def right(pred: torch.Tensor, labels: torch.Tensor, ctrl: torch.Tensor | None) -> torch.Tensor:
        """(2,) examples the task and the control fit get right (the second 0 without --control)."""
        task = (pred[:, :classes].argmax(1) == labels).sum()
        other = (pred[:, classes:].argmax(1) == ctrl).sum() if ctrl is not None else torch.zeros((), dtype=torch.long)
        return torch.stack([task, other]).cpu()

    with eval_mode(fed), torch.no_grad():
        for group in groups(probed, lambda p: held[p.layer.name], total_mb):
            if progress:
                progress(f"converged probes on {group[0].layer.name}..{group[-1].layer.name}")
            solvers = {p.layer.name: _Kernel(width[p.layer.name], n, outputs, device)
                       if width[p.layer.name] > n else _Normal(width[p.layer.name], n, outputs, device,
                                                               keep=p.layer.name in keep,
                                                               rank=p.reduction.out_features > n) for p in group}
            current = {}

            def accumulate(p: Probed, feats: torch.Tensor) -> None:
                solvers[p.layer.name].add(features(p, feats), current["t"])

            for idx in batches(n, batch_size, None):
                current["t"] = targets[idx].to(device)
                forward_layers(fed, group, x[idx].to(device), accumulate)
            solved, hits, residual, second, ranks = {}, {}, {}, [], {}
            for p in group:
                name = p.layer.name
                solver = solvers.pop(name)  # each fit's memory goes before the next one's solve
                if isinstance(solver, _Kernel):
                    *solved[name], pred = solver.solve()
                else:
                    solved[name] = solver.solve()
                    center, w, y_mean = solved[name]
                    pred = None if solver.kept is None else torch.addmm(y_mean, solver.kept - center, w)
                residual[name], ranks[name] = solver.residual, getattr(solver, "rank", None)
                if pred is None:  # the features were not kept: scored in a second pass
                    hits[name] = torch.zeros(2, dtype=torch.long)
                    second.append(p)
                else:
                    hits[name] = right(pred, y.to(device), None if y_ctrl is None else y_ctrl.to(device))

            def count(p: Probed, feats: torch.Tensor) -> None:
                center, w, y_mean = solved[p.layer.name]
                hits[p.layer.name] += right(torch.addmm(y_mean, features(p, feats) - center, w), current["y"],
                                            current["c"])

            if second:
                for idx in batches(n, batch_size, None):
                    current["y"] = y[idx].to(device)
                    current["c"] = None if y_ctrl is None else y_ctrl[idx].to(device)
                    forward_layers(fed, second, x[idx].to(device), count)
            tested = {p.layer.name: [] for p in group}
            if x_test is not None:
                def test(p: Probed, feats: torch.Tensor) -> None:
                    center, w, y_mean = solved[p.layer.name]
                    pred = torch.addmm(y_mean, features(p, feats) - center, w)[:, :classes].argmax(1)
                    tested[p.layer.name].append((pred == current["y"]).cpu())

                for idx in batches(len(x_test), batch_size, None):
                    current["y"] = y_test[idx].to(device)
                    forward_layers(fed, group, x_test[idx].to(device), test)
            for p in group:
                name = p.layer.name
                task, ctrl = (int(v) for v in hits[name])
                fits[name] = ControlFit(width[name], task / n, ctrl / n if control else None, residual[name],
                                        torch.cat(tested[name]) if tested[name] else None, p.reduction.out_features, n,
                                        ranks[name])
    return {p.layer.name: fits[p.layer.name] for p in probed}
