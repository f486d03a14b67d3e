"""`norm-compare --plot`: eval-mode test accuracy vs microbatch size, one line per norm and sampling, the mean over
seeds with a bar from the lowest seed to the highest."""

from __future__ import annotations

from dataclasses import dataclass

from deepgen_cli.report.plots import finish, pyplot
from deepgen_cli.report.record import Report

COLORS = {"batch": "tab:blue", "renorm": "tab:orange", "group": "tab:green", "none": "tab:gray"}
# Each line's points are moved sideways by this fraction of an octave per line, so that bars at one microbatch
# stand side by side instead of on top of each other; the tick stays at the microbatch itself.
DODGE_OCTAVES = 0.04


@dataclass(frozen=True)
class Point:
    microbatch: int
    mean: float  # eval-mode test accuracy, 0..1, mean over seeds
    low: float  # the lowest seed's
    high: float  # the highest seed's
    seeds: int


def _point(microbatch: int, values: list[float]) -> Point:
    return Point(microbatch, sum(values) / len(values), min(values), max(values), len(values))


def series(report: Report) -> dict[tuple[str, str], list[Point]]:
    """(norm, sampling) -> a Point per microbatch over the row's seeds, microbatches ascending.

    Group norm and none do not depend on the microbatch (their rows have none): their point is drawn flat
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
            out[(norm, sampling)] = [_point(m, by[None]) for m in sizes[sampling]]
        else:
            out[(norm, sampling)] = [_point(m, v) for m, v in sorted(by.items())]
    return {k: v for k, v in out.items() if v}


def figure(report: Report):
    """The figure, laid out: a line per (norm, sampling), bars where a point has more than one seed, the legend
    beside the axes (eight lines fill any corner of them)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    lines = series(report)
    seeds = sorted({p.seeds for pts in lines.values() for p in pts})
    for i, ((norm, sampling), pts) in enumerate(sorted(lines.items())):
        shift = 2 ** (DODGE_OCTAVES * (i - (len(lines) - 1) / 2))
        xs = [p.microbatch * shift for p in pts]
        ys = [100 * p.mean for p in pts]
        style = dict(linestyle="-" if sampling == "iid" else "--", marker="o" if sampling == "iid" else "s",
                     color=COLORS.get(norm), label=f"{norm} ({sampling})")
        if any(p.seeds > 1 for p in pts):
            bars = [[100 * (p.mean - p.low) for p in pts], [100 * (p.high - p.mean) for p in pts]]
            ax.errorbar(xs, ys, yerr=bars, capsize=3, **style)
        else:
            ax.plot(xs, ys, **style)
    ax.set_xscale("log", base=2)
    sizes = sorted({p.microbatch for pts in lines.values() for p in pts})
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.minorticks_off()
    if seeds and seeds[-1] > 1:
        count = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        ylabel = f"test accuracy, eval mode (%)\nmean of {count} seeds, bar: lowest to highest seed"
    else:
        ylabel = "test accuracy, eval mode (%), one seed"
    finish(fig, ax, None, xlabel="microbatch: examples per batch-norm statistic (log scale)", ylabel=ylabel,
           title="Test accuracy vs microbatch size by normalization",
           legend=dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0))
    return fig


def norm_compare_plot(report: Report, path: str) -> None:
    fig = figure(report)
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
