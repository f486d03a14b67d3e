"""Count Mult-Adds, per module and per op, by running one forward pass under a TorchDispatchMode.

Every aten op that runs passes through `__torch_dispatch__` after autograd and the composite ops have
decomposed it, so what is counted is what runs: each call of a module (a module called twice counts twice),
any Python control flow, any output structure. The pass is a real forward, so counting costs about one
forward plus a few microseconds per op (benchmarks/bench_counts.py measures the ratio).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from contextlib import nullcontext

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


def _conv(m, x, y) -> dict:
    return {"conv": y.numel() * math.prod(m.weight.shape[1:])}  # weight (Cout, Cin/groups, k...): one filter per output


def _conv_transposed(m, x, y) -> dict:
    return {"conv": x.numel() * math.prod(m.weight.shape[1:])}  # weight (Cin, Cout/groups, k...): per input element


def _linear(m, x, y) -> dict:
    return {"linear": x.numel() * m.out_features}  # every weight once per position


# Leaf modules whose forward is one known op: counted from their input and output in the module hooks with the
# dispatch mode off (the mode costs about 50 us per op on CPU, twice a small network's forward). Exact types
# only, so a subclass with its own forward goes through the mode. The op a zero-count leaf runs is named for
# skipped_ops; None: it runs nothing worth listing (dropout in eval, identity, flatten's view).
_NORMS = dict.fromkeys((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), "aten::batch_norm")
_LEAVES: dict = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv, nn.Linear: _linear,
    nn.ConvTranspose1d: _conv_transposed, nn.ConvTranspose2d: _conv_transposed, nn.ConvTranspose3d: _conv_transposed,
    **_NORMS, nn.LayerNorm: "aten::layer_norm", nn.GroupNorm: "aten::group_norm",
    nn.ReLU: "aten::relu", nn.ReLU6: "aten::hardtanh", nn.Hardswish: "aten::hardswish",
    nn.Hardsigmoid: "aten::hardsigmoid", nn.SiLU: "aten::silu", nn.GELU: "aten::gelu", nn.Sigmoid: "aten::sigmoid",
    nn.Tanh: "aten::tanh", nn.MaxPool2d: "aten::max_pool2d_with_indices", nn.AvgPool2d: "aten::avg_pool2d",
    nn.AdaptiveAvgPool2d: "aten::adaptive_avg_pool2d", nn.Dropout: None, nn.Identity: None, nn.Flatten: None,
}


@dataclasses.dataclass
class OpInfo:
    name: str  # "aten::addmm"
    handle: object | None  # op_counts handle, None when the op's work is not counted
    fresh: bool  # returns new memory (no alias: not a view, not in-place)
    listed: bool  # goes to skipped_ops when it has no handle
    matrix: bool  # listed and multiplies matrices: the count is too low


_INFO: dict = {}


def _info(func) -> OpInfo:
    info = _INFO.get(func)
    if info is None:
        name = f"{func.namespace}::{func._opname}"
        returns = func._schema.returns
        fresh = all(r.alias_info is None for r in returns)
        handle = op_counts.HANDLES.get(name)
        listed = handle is None and fresh and name not in _FREE
        info = _INFO[func] = OpInfo(name, handle, fresh, listed, listed and op_counts.does_matrix_work(name))
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
    uncounted: dict[str, list[str]]  # module name -> matrix ops that ran in it without a count


class _Mode(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = [""]
        self.by_module: dict[str, int] = defaultdict(int)
        self.by_operator: Counter = Counter()
        self.skipped: Counter = Counter()
        self.activation_bytes = 0
        self.uncounted: dict[str, set] = defaultdict(set)  # module -> matrix ops without a count in it

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **kwargs) if kwargs else func(*args)
        info = _INFO.get(func) or _info(func)
        if info.handle is not None:
            parts = info.handle(args, out[0] if isinstance(out, (tuple, list)) else out)
            macs = sum(parts.values())
            self.by_operator.update(parts)
            by_module = self.by_module
            for name in self.stack:  # the stack holds distinct names (enter skips a module re-entered)
                by_module[name] += macs
        elif info.listed:
            self.skipped[info.name] += 1
            if info.matrix:
                for name in self.stack:
                    self.uncounted[name].add(info.name)
        if info.fresh:
            if type(out) is torch.Tensor:
                self.activation_bytes += out.numel() * out.element_size()
            else:
                self.activation_bytes += sum(t.numel() * t.element_size() for t in _tensors(out))
        return out


    def leaf(self, module, x, y):
        what = _LEAVES[type(module)]
        if callable(what):
            parts = what(module, x, y)
            macs = sum(parts.values())
            self.by_operator.update(parts)
            for name in self.stack:
                self.by_module[name] += macs
        elif what is not None:
            self.skipped[what] += 1
        if isinstance(y, torch.Tensor) and y.data_ptr() != x.data_ptr():  # in place or a view: nothing new
            self.activation_bytes += y.numel() * y.element_size()


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

    pushed: list[bool] = []  # per module call in flight: whether enter pushed its name
    paused: list = []  # leaf calls counted by the hooks, with the mode off

    def enter(module, inputs):
        name = names.get(id(module))
        if name is None:
            return
        push = name not in mode.stack  # "" is always there; a module re-entered through itself counts once
        if push:
            mode.stack.append(name)
        pushed.append(push)
        leaf = type(module) in _LEAVES and not module._forward_hooks and not module._forward_pre_hooks
        if leaf and torch._C._len_torch_dispatch_stack() == 1 and len(inputs) == 1:
            torch._C._pop_torch_dispatch_stack(None)
            paused.append(module)

    def leave(module, inputs, output):
        name = names.get(id(module))
        if name is None:
            return
        if paused and paused[-1] is module:
            paused.pop()
            torch._C._push_on_torch_dispatch_stack(mode)
            mode.leaf(module, inputs[0], output)
        if pushed.pop():
            mode.stack.pop()
        calls[name] += 1
        if name not in shapes:  # a tensor's sizes are rendered after the pass, off the clock
            shapes[name] = output.shape if type(output) is torch.Tensor else shape_text(output)

    inputs = example if isinstance(example, tuple) else (example,)
    hooks = [nn.modules.module.register_module_forward_pre_hook(enter),
             nn.modules.module.register_module_forward_hook(leave)]
    try:
        # eval_mode walks every module twice (7 ms of a 15 ms forward on mobilenet_v3_small): skip it when
        # nothing trains
        modes = eval_mode(model) if any(m.training for m in model.modules()) else nullcontext()
        with modes, torch.no_grad(), mode:
            try:
                model(*inputs)
            finally:
                while paused:  # a forward that raised inside a leaf: the mode goes back before it exits
                    paused.pop()
                    torch._C._push_on_torch_dispatch_stack(mode)
    finally:
        for h in hooks:
            h.remove()
    by_module = {n: mode.by_module.get(n, 0) for n in names.values()}
    shapes = {n: "x".join(map(str, v)) or "scalar" if isinstance(v, torch.Size) else v for n, v in shapes.items()}
    return Counted(sum(mode.by_operator.values()), {k: v for k, v in mode.by_operator.items() if v}, by_module,
                   dict(mode.skipped), mode.activation_bytes, shapes, dict(calls),
                   {n: sorted(v) for n, v in mode.uncounted.items()})
