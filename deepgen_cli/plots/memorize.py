"""`memorize --plot`: training loss per noise level, and test error vs noise (Zhang et al., Figure 1)."""

from __future__ import annotations

from deepgen_cli.plots import pyplot
from deepgen_cli.results import Report


def memorize_plot(report: Report, path: str) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    rows = sorted(report.rows, key=lambda r: r["noise"])
    cmap = plt.get_cmap("viridis")
    for i, row in enumerate(rows):
        curve = row.get("curve") or []
        color = cmap(i / max(len(rows) - 1, 1))
        left.plot([c["epoch"] for c in curve], [c["train_loss"] for c in curve], color=color,
                  label=f"p={row['noise']:g}")
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (log scale)")
    left.set_title(f"Training loss, {rows[0]['corruption'] if rows else ''}")
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    noise = [r["noise"] for r in rows]
    right.plot(noise, [100 * (1 - r["test_accuracy"]) for r in rows], marker="o", label="test error")
    right.plot(noise, [100 * (1 - r["train_accuracy"]) for r in rows], marker="s", label="train error")
    if rows:
        right.axhline(100 * (1 - 1 / rows[0]["num_classes"]), color="0.6", linestyle="--", label="chance")
    right.set_xlabel("noise level p")
    right.set_ylabel("error (%)")
    right.set_title("Error vs noise")
    right.legend(fontsize=8)
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
