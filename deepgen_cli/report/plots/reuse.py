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
    # viridis: perceptual, so equal steps look equal; scaled to the data's range (the normalized weights sit in
    # about 0.7-1.0, which a 0-1 scale paints one colour), with each cell's value printed on it
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")  # white: cells a layer cannot read
    values = [v for _, matrices in networks for b in matrices for column in b["normalized"] for v in column
              if v == v]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    image = None
    for row, (network, matrices) in enumerate(networks):
        for col, block in enumerate(matrices):
            ax = axes[row][col]
            grid = square(block["normalized"])
            image = ax.imshow(grid, cmap=cmap, vmin=low, vmax=high, origin="upper")
            for s_, line in enumerate(grid):
                for t, v in enumerate(line):
                    if v == v:  # NaN: a cell the target cannot read
                        light = (v - low) / (high - low) > 0.6  # viridis' yellow end wants dark text
                        ax.text(t, s_, f"{v:.2f}", ha="center", va="center", fontsize=5,
                                color="black" if light else "white")
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
