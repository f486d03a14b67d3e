"""`probe --plot`: probe error vs depth, one line per snapshot (Alain & Bengio 2016, Figure 5)."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report


def probe_plot(report: Report, path: str) -> None:
    plt = pyplot()
    snapshots: dict[str, list[dict]] = {}
    for row in report.rows:
        snapshots.setdefault(row["snapshot"], []).append(row)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * max((len(v) for v in snapshots.values()), default=1)), 4.5))
    names: list[str] = []
    for label, rows in snapshots.items():
        rows = sorted(rows, key=lambda r: r["depth"])
        depths = [r["depth"] for r in rows]
        ax.plot(depths, [r["test_error"] for r in rows], marker="o", label=f"{label} (test)")
        ax.plot(depths, [r["train_error"] for r in rows], marker=".", linestyle=":", color=ax.lines[-1].get_color(),
                alpha=0.7, label=f"{label} (train)")
        if len(rows) > len(names):
            names = [r["layer"] for r in rows]
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("layer (depth order)")
    ax.set_ylabel("probe error")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Linear probe error by layer: {report.config.get('model')} on {report.config.get('dataset')}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
