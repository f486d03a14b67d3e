"""`probe --plot`: probe error vs depth, one line per snapshot (Alain & Bengio 2016, Figure 5), each layer named
on the x axis with its module type."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report


def layer_label(row: dict) -> str:
    """'features.0 (Conv2d)': the module's name in named_modules() and its class; the raw input is 'input'."""
    kind = row.get("type")
    return row["layer"] if not kind or kind == row["layer"] else f"{row['layer']} ({kind})"


def _mean(values: list) -> float:
    """The mean of the seeds that have a value; NaN (a gap in the line) where none has."""
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def figure(report: Report):
    """A test line and a dotted train line per snapshot, at each depth the mean over the snapshot's seeds
    (--repeats)."""
    plt = pyplot()
    snapshots: dict[str, dict[int, list[dict]]] = {}
    labels: dict[int, str] = {}
    for row in report.rows:
        snapshots.setdefault(row["snapshot"], {}).setdefault(row["depth"], []).append(row)
        labels.setdefault(row["depth"], layer_label(row))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(labels)), 4.5))
    for label, by_depth in snapshots.items():
        depths = sorted(by_depth)
        seeds = max(len(v) for v in by_depth.values())
        name = label if seeds == 1 else f"{label}, mean of {seeds} seeds"
        ax.plot(depths, [_mean([r["test_error"] for r in by_depth[d]]) for d in depths], marker="o",
                label=f"{name} (test)")
        ax.plot(depths, [_mean([r["train_error"] for r in by_depth[d]]) for d in depths], marker=".", linestyle=":",
                color=ax.lines[-1].get_color(), alpha=0.7, label=f"{name} (train)")
    ticks = sorted(labels)
    ax.set_xticks(ticks, [labels[d] for d in ticks], rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("layer (module type), in depth order")
    ax.set_ylabel("probe error")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Linear probe error by layer: {report.config.get('model')} on {report.config.get('dataset')}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def probe_plot(report: Report, path: str) -> None:
    fig = figure(report)
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
