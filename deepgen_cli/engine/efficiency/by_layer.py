"""`efficiency --by-layer`: parameters and Mult-Adds of each leaf module of one model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine.efficiency.candidates import count, instantiate
from deepgen_cli.engine.outcome import Outcome


@dataclass
class LayerRow:
    KEY: ClassVar[tuple[str, ...]] = ("module",)  # what report merges by; --by-layer is never resumed

    module: str  # name as in model.named_modules()
    type: str
    params: int  # own parameters, not counting children
    mult_adds: int  # per image
    mult_adds_share: float  # fraction of the model's total


def run_by_layer(cand, config, session) -> Outcome:
    session.progress(f"{cand.label}: counting per module")
    model = instantiate(cand, config)
    counted = count(cand, model)
    total = counted.total or 1
    for name, module in model.named_modules():
        if any(True for _ in module.children()):
            continue  # containers repeat their children's numbers
        params = sum(p.numel() for p in module.parameters(recurse=False))
        madds = counted.by_module.get(name, 0)
        if params or madds:
            session.row(LayerRow(name, type(module).__name__, params, madds, madds / total))
    matrix = counted.uncounted_matrix_ops
    notes = [f"{cand.label} at {cand.resolution}x{cand.resolution}: "
             f"{sum(p.numel() for p in model.parameters()):,} params, "
             f"{counted.total:,} Mult-Adds; not counted by convention (element-wise, pooling): "
             f"{', '.join(sorted(set(counted.skipped_ops) - set(matrix))) or 'none'}"]
    if matrix:
        notes.append(f"WARNING: ops that multiply matrices were not counted, so the Mult-Adds are too low: "
                     f"{', '.join(sorted(matrix))}")
    return Outcome(notes=notes,
                   analysis={"mult_adds_total": counted.total, "skipped_ops": counted.skipped_ops})
