"""Count Mult-Adds, per module and per op, by running one forward pass under a TorchDispatchMode.

Every aten op that runs passes through `__torch_dispatch__` after autograd and the composite ops have
decomposed it, so what is counted is what runs: each call of a module (a module called twice counts twice),
any Python control flow, any output structure. The pass is a real forward, so counting costs about one
forward plus a few microseconds per op (benchmarks/bench_counts.py measures the ratio).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from deepgen_cli.engine import op_counts
from deepgen_cli.engine.modes import eval_mode

# Ops that compute nothing (allocation, copies, layout): left out of `skipped_ops`, which lists the work that
# is not counted by convention (activations, pooling, norms, element-wise) so a reader can check it.
_FREE = {"aten::" + n for n in (
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "scalar_tensor", "arange", "clone", "copy_", "_to_copy", "contiguous", "cat", "stack", "_unsafe_view",
    "unsafe_split", "split_with_sizes", "lift_fresh", "detach", "zero_", "fill_", "constant_pad_nd",
    "_local_scalar_dense", "item", "index", "index_select", "gather", "roll", "flip", "new_zeros", "new_empty",
    "new_ones", "resize_", "masked_fill", "masked_fill_", "where", "tril", "triu", "repeat", "unbind",
    "split", "chunk", "_reshape_alias", "cumsum",
)}


@dataclasses.dataclass
class OpInfo:
    name: str  # "aten::addmm"
    handle: object | None  # op_counts handle, None when the op's work is not counted
    fresh: bool  # returns new memory (no alias: not a view, not in-place)
    listed: bool  # goes to skipped_ops when it has no handle


_INFO: dict = {}


def _info(func) -> OpInfo:
    info = _INFO.get(func)
    if info is None:
        name = f"{func.namespace}::{func._opname}"
        returns = func._schema.returns
        fresh = all(r.alias_info is None for r in returns)
        handle = op_counts.HANDLES.get(name)
        info = _INFO[func] = OpInfo(name, handle, fresh, handle is None and fresh and name not in _FREE)
    return info


def _tensors(value):
    """The tensors in an op's or a module's output: a tensor, or any nesting of tuples, lists, dicts and
    dataclasses."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _tensors(getattr(value, f.name))


def shape_text(value) -> str:
    """A module output's shape: `1x64x56x56`, `(1x3x10, (2x1x10, 2x1x10))` for nested tuples, `{logits: 1x10}`."""
    if isinstance(value, torch.Tensor):
        return "x".join(str(n) for n in value.shape) or "scalar"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(shape_text(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shape_text(v)}" for k, v in value.items()) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "{" + ", ".join(f"{f.name}: {shape_text(getattr(value, f.name))}" for f in dataclasses.fields(value)) + "}"
    return type(value).__name__


@dataclasses.dataclass
class Counted:
    total: int  # multiply-accumulates of the whole pass (all examples in the batch)
    by_operator: dict[str, int]  # part ("conv", "linear", "matmul", "attention", "recurrent") -> MACs
    by_module: dict[str, int]  # module name -> MACs in it and its children ("" is the whole model)
    skipped_ops: dict[str, int]  # ops with work that has no count (activations, pools...) -> calls
    activation_bytes: int  # bytes of every fresh tensor the forward wrote (op outputs, not views or in-place)
    output_shapes: dict[str, str]  # module name -> shape_text of its first call's output
    calls: dict[str, int]  # module name -> times it ran


class _Mode(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = [""]
        self.by_module: dict[str, int] = defaultdict(int)
        self.by_operator: Counter = Counter()
        self.skipped: Counter = Counter()
        self.activation_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        info = _INFO.get(func) or _info(func)
        if info.handle is not None:
            parts = info.handle(args, out[0] if isinstance(out, (tuple, list)) else out)
            macs = sum(parts.values())
            self.by_operator.update(parts)
            for name in set(self.stack):  # a module re-entered through itself counts once per op
                self.by_module[name] += macs
        elif info.listed:
            self.skipped[info.name] += 1
        if info.fresh:
            self.activation_bytes += sum(t.numel() * t.element_size() for t in _tensors(out))
        return out


def original(model: nn.Module) -> nn.Module:
    """The module a `torch.compile`d wrapper runs: it is counted through that module, op by op."""
    return getattr(model, "_orig_mod", model)


def count(model: nn.Module, example) -> Counted:
    """Run `model(example)` once (eval mode, no autograd: the path latency is timed on) and count it.
    `example` is a tensor or a tuple of positional inputs."""
    model = original(model)
    names = {id(m): n for n, m in model.named_modules()}
    mode = _Mode()
    shapes: dict[str, str] = {}
    calls: Counter = Counter()

    def enter(module, inputs):
        name = names.get(id(module))
        if name is not None and name != "":
            mode.stack.append(name)

    def leave(module, inputs, output):
        name = names.get(id(module))
        if name is None:
            return
        if name != "":
            mode.stack.pop()
        calls[name] += 1
        shapes.setdefault(name, shape_text(output))

    inputs = example if isinstance(example, tuple) else (example,)
    hooks = [nn.modules.module.register_module_forward_pre_hook(enter),
             nn.modules.module.register_module_forward_hook(leave)]
    try:
        with eval_mode(model), torch.no_grad(), mode:
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    by_module = {n: mode.by_module.get(n, 0) for n in names.values()}
    return Counted(sum(mode.by_operator.values()), {k: v for k, v in mode.by_operator.items() if v}, by_module,
                   dict(mode.skipped), mode.activation_bytes, shapes, dict(calls))
