"""`efficiency --plot`: accuracy vs Mult-Adds."""

from __future__ import annotations

import math

from deepgen_cli.report.plots import finish, pyplot
from deepgen_cli.report.record import Report


def efficiency_plot(report: Report, path: str) -> None:
    """Top-1 vs Mult-Adds on a log axis, one point per model, like MobileNet's Figure 4."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    family = report.analysis.get("mobilenet_family")
    if family:
        pts = sorted(family["points"], key=lambda p: p["mult_adds"])
        ax.scatter([p["mult_adds"] / 1e6 for p in pts], [100 * p["top1"] for p in pts], color="0.75",
                   label="MobileNet v1 alpha/rho family (published accuracy)")
        fit = family["fit"]
        xs = [pts[0]["mult_adds"], pts[-1]["mult_adds"]]
        ax.plot([x / 1e6 for x in xs], [100 * (fit["intercept"] + fit["slope_per_decade"] * math.log10(x)) for x in xs],
                color="0.6", linestyle="--", label=f"log-linear fit to published accuracy, R^2={fit['r2']:.3f}")
    for row in report.rows:
        if row.get("top1") is None or row.get("published_dataset") != "ImageNet-1k":
            continue
        ax.scatter(row["mult_adds"] / 1e6, 100 * row["top1"], zorder=3)
        ax.annotate(row["model"], (row["mult_adds"] / 1e6, 100 * row["top1"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    finish(fig, ax, path, xlabel="Mult-Adds (millions, log scale)", ylabel="published ImageNet top-1 accuracy (%)",
           title="Accuracy vs Mult-Adds", legend_loc="lower right")
