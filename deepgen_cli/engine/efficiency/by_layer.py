"""`efficiency --by-layer`: output shape, parameters and Mult-Adds of each module of one model, with shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import measure
from deepgen_cli.engine.efficiency.candidates import count, instantiate
from deepgen_cli.engine.outcome import Outcome


@dataclass
class LayerRow:
    KEY: ClassVar[tuple[str, ...]] = ("module",)  # what report merges by; --by-layer is never resumed

    module: str  # name as in model.named_modules()
    type: str
    depth: int  # nesting: 1 for the model's children, 2 for theirs...
    output_shape: str  # of the module's first call, at the batch size (NxCxHxW; tuples in parentheses)
    params: int  # its parameters, with its children's when it stands for them (--depth)
    params_share: float  # fraction of the model's parameters
    mult_adds: int  # per example, every call of the module
    mult_adds_share: float  # fraction of the model's total
    calls: int = 1  # times it ran in one forward pass
    flops: int | None = None  # 2 x mult_adds, with --flops
    uncounted_ops: str = ""  # matrix ops that ran in it without a count: its Mult-Adds are too low


def _depth(name: str) -> int:
    return name.count(".") + 1


def layer_rows(model, counted: measure.MultAdds, depth: int | None, flops: bool) -> list[LayerRow]:
    """Leaf modules (depth None), or every module down to `depth`, a module at `depth` standing for its children.
    Modules that never ran and hold no parameters are left out."""
    total, n_params = counted.total or 1, measure.count_params(model) or 1
    rows = []
    for name, module in model.named_modules():
        if not name:
            continue
        leaf = not any(True for _ in module.children())
        d = _depth(name)
        if depth is None and not leaf or depth is not None and (d > depth or d < depth and not leaf):
            continue
        params = sum(p.numel() for p in module.parameters(recurse=not leaf))
        madds = counted.by_module.get(name, 0)
        calls = counted.calls.get(name, 0)
        if params or calls:
            rows.append(LayerRow(name, type(module).__name__, d, counted.output_shapes.get(name, "not run"), params,
                                 params / n_params, madds, madds / total, calls, 2 * madds if flops else None,
                                 _uncounted(counted.uncounted_by_module.get(name))))
    return rows


def _uncounted(ops) -> str:
    return "too low: " + ", ".join(op.split("::")[-1] for op in ops) if ops else ""


def run_by_layer(cand, config, session) -> Outcome:
    session.progress(f"{cand.label}: counting per module")
    model = instantiate(cand, config)
    counted = count(cand, model, config.batch_size)
    for row in layer_rows(model, counted, config.depth, config.flops):
        session.row(row)
    matrix = counted.uncounted_matrix_ops
    params = measure.count_params(model)
    flops = f", {2 * counted.total:,} FLOPs (2 x Mult-Adds)" if config.flops else ""
    notes = [f"{cand.label} on {config.batch_size}x{cand.shape_text}: {params:,} params "
             f"({measure.param_bytes(model):,} bytes), {counted.total:,} Mult-Adds per example{flops}, "
             f"{counted.activation_bytes:,} activation bytes for the forward pass at batch {config.batch_size}; "
             f"not counted by convention (element-wise, pooling, norms): "
             f"{', '.join(sorted(set(counted.skipped_ops) - set(matrix))) or 'none'}"]
    if matrix:
        notes.append(f"WARNING: ops that multiply matrices were not counted, so the Mult-Adds are too low: "
                     f"{', '.join(sorted(matrix))}")
    return Outcome(notes=notes, analysis={
        "mult_adds_total": counted.total, "params": params, "param_bytes": measure.param_bytes(model),
        "activation_bytes": counted.activation_bytes, "batch_size": config.batch_size,
        "input_shape": cand.shape_text, "skipped_ops": counted.skipped_ops, "uncounted_matrix_ops": matrix})
