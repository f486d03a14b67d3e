"""`memorize --plot`: training loss per noise level, and test error vs noise (Zhang et al., Figure 1)."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report


def memorize_plot(report: Report, path: str) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    rows = sorted((r for r in report.rows if not r.get("error")), key=lambda r: (r["noise"], r.get("seed", 0)))
    levels = sorted({r["noise"] for r in rows})
    cmap = plt.get_cmap("viridis")
    labelled = set()
    for row in rows:  # with --repeats, one curve per seed in its level's colour, labelled once
        curve = row.get("curve") or []
        color = cmap(levels.index(row["noise"]) / max(len(levels) - 1, 1))
        label = None if row["noise"] in labelled else f"p={row['noise']:g}"
        labelled.add(row["noise"])
        left.plot([c["epoch"] for c in curve], [c["train_loss"] for c in curve], color=color, label=label)
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (log scale)")
    left.set_title(f"Training loss, {rows[0]['corruption'] if rows else ''}")
    if labelled:
        left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    spread = report.analysis.get("by_noise", {})
    for key, marker, name in (("test_accuracy", "o", "test error"), ("train_accuracy", "s", "train error")):
        stats = [spread.get(f"{p:g}", {}).get(key) for p in levels]
        if not all(stats):
            continue
        # error = 1 - accuracy; the bars are the SD over seeds (zero with one seed)
        right.errorbar(levels, [100 * (1 - s["mean"]) for s in stats], yerr=[100 * s["sd"] for s in stats],
                       marker=marker, capsize=3, label=name)
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
