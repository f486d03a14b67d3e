"""Which layers get a probe: every conv, activation, pool, linear and block output, in the order they run,
found with forward hooks; and taps that hand each hooked output to a callback as the forward runs.
"""

from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from deepgen_cli.engine.config import once, split_list
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.modes import eval_mode

INPUT = "input"  # the probe on the raw input, depth 0
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_ACTIVATION = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
               nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus)
_POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
         nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
         nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.LPPool1d, nn.LPPool2d)
# Plain containers: their output is their last child's (Sequential) or they have no forward at all.
_CONTAINER_FORWARDS = {nn.Sequential.forward, nn.ModuleList.forward, nn.ModuleDict.forward}


@dataclass(frozen=True)
class Layer:
    name: str  # as in model.named_modules(); "input" for the raw input
    kind: str  # input | conv | activation | pool | linear | block
    type: str  # the module's class name
    shape: tuple[int, ...]  # output shape without the batch axis


def kind_of(name: str, module: nn.Module) -> str | None:
    if isinstance(module, _CONV):
        return "conv"
    if isinstance(module, _ACTIVATION):
        return "activation"
    if isinstance(module, _POOL):
        return "pool"
    if isinstance(module, nn.Linear):
        return "linear"
    # A block is a module with its own forward over children (a residual, inception or dense block, the
    # last often a ModuleDict with a forward); plain containers only repeat their last child's output.
    if name and any(True for _ in module.children()) and type(module).forward not in _CONTAINER_FORWARDS:
        return "block"
    return None


def discover(model: nn.Module, example: torch.Tensor) -> tuple[list[Layer], list[str]]:
    """The probe-able layers in execution order, with output shapes from one forward of `example`
    (a batch of one; a meta-device tensor gives shapes without allocating anything).

    Returns (layers, skipped): modules that run more than once per forward (a ReLU object reused inside
    a block) have no single output to probe and are skipped by name.
    """
    seen: dict[str, list] = {}
    handles = []
    for name, module in model.named_modules():
        kind = kind_of(name, module)
        if kind is None:
            continue

        def hook(mod, args, out, name=name, kind=kind):
            seen.setdefault(name, [kind, type(mod).__name__, None, 0])
            seen[name][3] += 1
            if isinstance(out, torch.Tensor):
                seen[name][2] = tuple(out.shape[1:])
        handles.append(module.register_forward_hook(hook))
    try:
        with eval_mode(model), torch.no_grad():  # no batch-norm statistics updated, no dropout randomness drawn
            model(example)
    finally:
        for h in handles:
            h.remove()
    layers = [Layer(INPUT, "input", "input", tuple(example.shape[1:]))]
    skipped = []
    for name, (kind, typ, shape, calls) in seen.items():  # dicts keep insertion (= execution) order
        if calls > 1 or shape is None:
            skipped.append(name)
        else:
            layers.append(Layer(name, kind, typ, shape))
    return layers, skipped


def select(layers: list[Layer], spec: str | None) -> list[Layer]:
    """Layers matching comma-separated names or globs (`--layers 0.*,6`), in model order."""
    if not spec:
        return layers
    wanted = list(once(tuple(split_list(spec)), split_list(spec), "--layers"))
    names = [layer.name for layer in layers]
    for pattern in wanted:
        if not fnmatch.filter(names, pattern):
            raise UsageError(f"--layers: '{pattern}' matches no probe-able layer; valid: {', '.join(names)}")
    return [layer for layer in layers if any(fnmatch.fnmatchcase(layer.name, p) for p in wanted)]


@contextmanager
def tap(model: nn.Module, names: list[str], fn: Callable[[str, torch.Tensor], None],
        when: Callable[[nn.Module], bool] | None = None):
    """Call `fn(name, output)` as each named module's forward returns (while `when(module)` holds).

    `fn` must copy what it keeps before returning: an in-place ReLU after the layer overwrites it.
    """
    modules = dict(model.named_modules())
    handles = []
    for name in names:
        if name == INPUT:
            continue

        def hook(mod, args, out, name=name):
            if when is None or when(mod):
                fn(name, out)
        handles.append(modules[name].register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
