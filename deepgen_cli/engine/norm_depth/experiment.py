"""norm-depth's engine: mlp-bn of each depth trained with batch norm and renorm, paired by seed."""

from __future__ import annotations

from deepgen_cli.engine.norm_depth.config import NORMS, NormDepthConfig
from deepgen_cli.engine.norm_depth.findings import findings
from deepgen_cli.engine.norm_depth.rows import NormDepthRow, train_one
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.runs import loaded


def plan(config: NormDepthConfig) -> list[tuple[int, int, str, int]]:
    """(depth, microbatch, norm, seed), seeds innermost: batch norm at every microbatch, renorm at the small ones
    (at the whole minibatch renorm's r and d stay near 1 and 0: it is batch norm there)."""
    micro = sorted(set(config.microbatch))
    return [(d, m, k, config.seed + i) for d in sorted(set(config.depths)) for m in micro for k in NORMS
            if k == "batch" or m < micro[-1] for i in range(config.repeats)]


def run(config: NormDepthConfig, device, session):
    with loaded(config, session) as (config, data):
        rows = measure_rows(
            session, plan(config), row_type=NormDepthRow, key=lambda item: item,
            measure=lambda item, label: train_one(config, data, *item, device, session, label),
            label=lambda item: f"depth {item[0]}, {item[2]} at microbatch {item[1]}, seed {item[3]}")
        session.progress("checking the published claims")
        return findings(rows, config)
