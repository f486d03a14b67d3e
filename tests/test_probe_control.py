"""Control probes fit to convergence: they memorize random labels where the features allow it (a nonlinear layer
wider than the training set), not where they cannot (a narrow layer, or a linear map of a narrow input)."""

import pytest
import torch
from torch import nn

from deepgen_cli.engine.probe.control import RIDGE, control_width, fit_controls
from deepgen_cli.engine.probe.inputs import Fed
from deepgen_cli.engine.probe.layers import discover
from deepgen_cli.engine.probe.metrics import control_labels
from deepgen_cli.engine.probe.passes import prepare

pytestmark = pytest.mark.usefixtures("one_thread")

N, CLASSES = 120, 3


def setup(width=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 1, 4, 4, generator=g)
    y = torch.randint(0, CLASSES, (N,), generator=g)
    torch.manual_seed(seed)
    # input: 16 features; "1": 400, but a linear map of the 16 (rank <= 17 with the bias); "2": 400 after a
    # ReLU (rank up to 120); "3": 2 features
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 2))
    fed = Fed(model, 4, 1)
    layers, _ = discover(model, x[:1])
    probed = prepare(layers, CLASSES, "none", 64.0, 0, "cpu")
    return fed, probed, x, y


def fits_of(budget_mb=64.0, **kw):
    fed, probed, x, y = setup(**kw)
    fits = fit_controls(fed, probed, x, y, classes=CLASSES, seed=0, batch_size=32, budget_mb=budget_mb,
                        total_mb=1024.0, device="cpu")
    return fits, x, y


def test_a_control_probe_memorizes_a_wide_nonlinear_layer_and_not_a_narrow_one():
    fits, _, _ = fits_of()
    assert [fits[k].features for k in ("input", "1", "2", "3")] == [16, 400, 400, 2]
    assert fits["2"].control_accuracy == 1.0  # 400 ReLU features > 120 examples: every random label fit
    assert fits["3"].control_accuracy < 0.6  # 2 features: chance is 1/3
    # A linear map cannot add rank: the 400-wide linear layer memorizes exactly what its 16 inputs do
    assert fits["1"].control_accuracy == fits["input"].control_accuracy < 0.7
    assert fits["2"].task_accuracy == 1.0  # selectivity 0 there: the probe could have memorized anything


def test_the_fit_is_the_ridge_least_squares_solution():
    fits, x, y = fits_of()
    # Redo layer "input" by hand: standardized features (biased variance, + 1e-5), ridge RIDGE * n, one-hot
    # targets, intercept from the means; accuracy of the argmax on the training examples.
    z = x.reshape(N, -1).double()
    z = (z - z.mean(0)) / (z.var(0, unbiased=False) + 1e-5).sqrt()
    ctrl = control_labels(x, CLASSES, 0)
    t = torch.cat([nn.functional.one_hot(y, CLASSES), nn.functional.one_hot(ctrl, CLASSES)], 1).double()
    w = torch.linalg.solve(z.T @ z + RIDGE * N * torch.eye(16, dtype=torch.float64), z.T @ (t - t.mean(0)))
    pred = z @ w + t.mean(0)
    assert fits["input"].task_accuracy == (pred[:, :CLASSES].argmax(1) == y).double().mean().item()
    assert fits["input"].control_accuracy == (pred[:, CLASSES:].argmax(1) == ctrl).double().mean().item()


def test_a_sketch_wider_than_the_training_set_still_memorizes():
    # 16 B per feature^2: 0.6 MiB allows floor(sqrt(0.6 * 2^20 / 16)) = 198 features, still > 120 examples
    assert control_width(400, 0.6) == 198 and control_width(10, 0.6) == 10
    fits, _, _ = fits_of(budget_mb=0.6)
    assert fits["2"].features == 198 and fits["2"].control_accuracy == 1.0
    # 0.1 MiB: 80 features < 120 examples: no longer every label
    fits, _, _ = fits_of(budget_mb=0.1)
    assert fits["2"].features == 80 and fits["2"].control_accuracy < 1.0


def test_the_kernel_form_for_wide_layers_gives_the_primal_fit():
    from deepgen_cli.engine.probe.control import _Kernel, _Normal

    g = torch.Generator().manual_seed(2)
    n, d = 50, 80  # d > n: fit_controls takes the kernel form; the primal still solves, with the ridge
    f = torch.randn(n, d, generator=g) * torch.linspace(0.1, 3, d) + 2  # uneven scales and an offset
    t = nn.functional.one_hot(torch.randint(0, 4, (n,), generator=g), 4).double()
    primal, kernel = _Normal(d, n, 4, "cpu"), _Kernel(d, n, 4, "cpu")
    for part in range(0, n, 16):
        primal.add(f[part:part + 16].clone(), t[part:part + 16])
        kernel.add(f[part:part + 16].clone(), t[part:part + 16])
    center, w, y_mean = primal.solve()
    assert torch.allclose((f - center) @ w + y_mean, kernel.predictions().float(), atol=1e-4)


def test_features_too_big_to_keep_are_scored_in_a_second_pass_with_the_same_result():
    kept, _, _ = fits_of()
    # 6400 B: sqrt(6400 / 16) = 20 features; the input's 120 x 16 fp32 features (7680 B) no longer fit: the fit
    # is scored in a second pass over the data instead of from kept features
    assert control_width(16, 6400 / 2 ** 20) == 16
    passed, _, _ = fits_of(budget_mb=6400 / 2 ** 20)
    assert passed["input"] == kept["input"] and passed["2"].features == 20


def test_the_task_fit_is_scored_on_the_test_set_and_its_convergence_recorded():
    fed, probed, x, y = setup()
    g = torch.Generator().manual_seed(5)
    x_test = torch.randn(40, 1, 4, 4, generator=g)
    y_test = torch.randint(0, CLASSES, (40,), generator=g)
    fits = fit_controls(fed, probed, x, y, classes=CLASSES, seed=0, batch_size=32, budget_mb=64.0, total_mb=1024.0,
                        device="cpu", control=False, x_test=x_test, y_test=y_test)
    # By hand for the input: the training set's standardization and ridge fit, applied to the test examples
    z = x.reshape(N, -1).double()
    mu, sd = z.mean(0), (z.var(0, unbiased=False) + 1e-5).sqrt()
    t = nn.functional.one_hot(y, CLASSES).double()
    zs = (z - mu) / sd
    w = torch.linalg.solve(zs.T @ zs + RIDGE * N * torch.eye(16, dtype=torch.float64), zs.T @ (t - t.mean(0)))
    pred = ((x_test.reshape(40, -1).double() - mu) / sd) @ w + t.mean(0)
    assert fits["input"].test_correct.tolist() == (pred.argmax(1) == y_test).tolist()
    assert fits["input"].control_accuracy is None  # --no-control: the task fit alone
    # the kernel form (400 ReLU features > 120 examples) fits every (random) training label, its solve exact
    assert fits["2"].task_accuracy == 1.0 and fits["2"].residual < 1e-9 and all(f.converged for f in fits.values())
    assert len(fits["2"].test_correct) == 40


def test_a_full_rank_sketch_short_of_the_training_set_is_not_the_layers_optimum():
    # 0.1 MiB: an 80-feature sketch of 400-wide layers, 120 examples with random labels
    fits, _, _ = fits_of(budget_mb=0.1)
    relu, linear = fits["2"], fits["1"]
    # the ReLU layer (rank up to 120) could fit every label at its width; its sketch has full rank 80 and misses
    # more than 5% of them: not shown to be the layer's optimum
    assert relu.rank == 80 and relu.task_accuracy < 0.95 and not relu.converged
    # the linear layer's features span at most 17 dimensions (16 inputs and the bias, centered: 16): the sketch
    # holds all of them, so its fit is the layer's own, however high its training error
    assert linear.rank == 16 and linear.task_accuracy < 0.95 and linear.converged
    assert fits["input"].rank is None and fits["input"].converged  # 16 features: no sketch
