"""`norm-compare --plot`: test accuracy vs batch size, one line per norm and sampling."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report


def series(report: Report) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(norm, sampling) -> [(batch size, mean eval-mode test accuracy over seeds)], batch sizes ascending."""
    acc: dict[tuple[str, str], dict[int, list[float]]] = {}
    for row in report.rows:
        if row.get("test_accuracy") is None:
            continue
        acc.setdefault((row["norm"], row["sampling"]), {}).setdefault(row["batch_size"], []).append(row["test_accuracy"])
    return {k: [(b, sum(v) / len(v)) for b, v in sorted(by.items())] for k, by in acc.items()}


def norm_compare_plot(report: Report, path: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    colors = {"batch": "tab:blue", "renorm": "tab:orange", "group": "tab:green", "none": "tab:gray"}
    lines = series(report)
    for (norm, sampling), pts in sorted(lines.items()):
        style = "-" if sampling == "iid" else "--"
        ax.plot([b for b, _ in pts], [100 * a for _, a in pts], style, marker="o" if sampling == "iid" else "s",
                color=colors.get(norm), label=f"{norm} ({sampling})")
    ax.set_xscale("log", base=2)
    sizes = sorted({b for pts in lines.values() for b, _ in pts})
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.minorticks_off()
    ax.set_xlabel("minibatch size (log scale)")
    ax.set_ylabel("test accuracy, eval mode (%)")
    ax.set_title("Test accuracy vs minibatch size by normalization")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
