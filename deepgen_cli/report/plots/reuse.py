"""`reuse --plot`: Huang et al.'s Figure 5, one heat map per dense block, trained above untrained."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report

SHORT = {"transition": "T", "classifier": "C"}


def square(columns: list[list[float]]) -> list[list[float]]:
    """Jagged columns[t][s] -> a (source x target) grid, NaN where target t cannot read source s."""
    n = len(columns)
    return [[columns[t][s] if s < len(columns[t]) else float("nan") for t in range(n)] for s in range(n)]


def reuse_plot(report: Report, path: str) -> None:
    plt = pyplot()
    networks = [(k, v) for k, v in report.analysis.get("networks", {}).items() if v]
    if not networks:
        raise ValueError("the report holds no reuse matrices (analysis['networks'])")
    blocks = len(networks[0][1])
    fig, axes = plt.subplots(len(networks), blocks, figsize=(3.6 * blocks, 3.4 * len(networks)), squeeze=False)
    cmap = plt.get_cmap("jet").with_extremes(bad="white")  # white: cells a layer cannot read
    image = None
    for row, (network, matrices) in enumerate(networks):
        for col, block in enumerate(matrices):
            ax = axes[row][col]
            image = ax.imshow(square(block["normalized"]), cmap=cmap, vmin=0, vmax=1, origin="upper")
            n = len(block["targets"])
            ax.set_xticks(range(n), [SHORT.get(t, t) for t in block["targets"]], fontsize=7)
            ax.set_yticks(range(n), ["in"] + [str(s) for s in range(1, n)], fontsize=7)
            ax.set_title(f"{network}: dense block {block['block']}", fontsize=9)
            ax.set_xlabel("target layer (T: transition, C: classifier)", fontsize=7)
            if col == 0:
                ax.set_ylabel("source layer (in: block input)", fontsize=7)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8,
                 label="mean |w| per input map / the target's largest")
    fig.savefig(path, dpi=120)
    plt.close(fig)
