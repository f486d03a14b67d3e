"""PNG plots drawn from a finished Report (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.results import Report


def check_path(path: str, flag: str = "--plot") -> None:
    """Fail before the run, not after it, when the plot cannot be written."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"{flag}: '{path}' must end in .png")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"{flag}: cannot write in '{parent}'; choose a writable path")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def efficiency_plot(report: Report, path: str) -> None:
    """Top-1 vs Mult-Adds on a log axis, one point per model, like MobileNet's Figure 4."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    family = report.analysis.get("mobilenet_family")
    if family:
        pts = sorted(family["points"], key=lambda p: p["mult_adds"])
        ax.scatter([p["mult_adds"] / 1e6 for p in pts], [100 * p["top1"] for p in pts], color="0.75",
                   label="MobileNet v1 alpha/rho family (paper accuracy)")
        fit = family["fit"]
        import math

        xs = [pts[0]["mult_adds"], pts[-1]["mult_adds"]]
        ax.plot([x / 1e6 for x in xs], [100 * (fit["intercept"] + fit["slope_per_decade"] * math.log10(x)) for x in xs],
                color="0.6", linestyle="--", label=f"log-linear fit, R^2={fit['r2']:.3f}")
    for row in report.rows:
        if row.get("top1") is None or row.get("published_dataset") != "ImageNet-1k":
            continue
        ax.scatter(row["mult_adds"] / 1e6, 100 * row["top1"], zorder=3)
        ax.annotate(row["model"], (row["mult_adds"] / 1e6, 100 * row["top1"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("Mult-Adds (millions, log scale)")
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    ax.set_title("Accuracy vs Mult-Adds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
