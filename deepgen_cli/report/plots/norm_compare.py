"""`norm-compare --plot`: eval-mode test accuracy vs microbatch size, one line per norm and sampling."""

from __future__ import annotations

from deepgen_cli.report.plots import finish, pyplot
from deepgen_cli.report.record import Report


def series(report: Report) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(norm, sampling) -> [(microbatch, mean eval-mode test accuracy over seeds)], microbatches ascending.

    Group norm and none do not depend on the microbatch (their rows have none): their mean is drawn flat
    across the microbatches of their sampling."""
    acc: dict[tuple[str, str], dict[int | None, list[float]]] = {}
    for row in report.rows:
        if row.get("test_accuracy") is None:
            continue
        acc.setdefault((row["norm"], row["sampling"]), {}).setdefault(row.get("microbatch"), []).append(
            row["test_accuracy"])
    sizes = {s: sorted({m for (_, s2), by in acc.items() if s2 == s for m in by if m is not None})
             for _, s in acc}
    out = {}
    for (norm, sampling), by in acc.items():
        if None in by:
            flat = sum(by[None]) / len(by[None])
            out[(norm, sampling)] = [(m, flat) for m in sizes[sampling]]
        else:
            out[(norm, sampling)] = [(m, sum(v) / len(v)) for m, v in sorted(by.items())]
    return {k: v for k, v in out.items() if v}


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
    finish(fig, ax, path, xlabel="microbatch: examples per batch-norm statistic (log scale)",
           ylabel="test accuracy, eval mode (%)", title="Test accuracy vs microbatch size by normalization")
