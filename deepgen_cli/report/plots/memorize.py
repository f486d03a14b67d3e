"""`memorize --plot`: Zhang et al.'s Figure 1 (a: training loss per corruption or level, b: the slowdown by level,
c: test and train error by level) and, with several regularizers, Pereyra et al.'s Figure 1: histograms of predicted max
probabilities."""

from __future__ import annotations

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.record import Report


def _baselines(rows: list) -> dict[str, str]:
    """Per corruption, the regularizer that stands for it: none if the run has it, else the first (as the findings)."""
    out: dict[str, str] = {}
    for r in rows:
        reg = r.get("regularizer", "none")
        if r["corruption"] not in out or reg == "none":
            out[r["corruption"]] = reg
    return out


def _loss_curves(ax, rows: list, base: dict, plt) -> None:
    """One corruption: a curve per level. Several: each at its top level, with true labels (p=0): Figure 1a."""
    rows = [r for r in rows if r.get("regularizer", "none") == base[r["corruption"]]]
    if len(base) == 1:
        key = lambda r: f"p={r['noise']:g}"  # noqa: E731
        title = f"Training loss, {next(iter(base))}"
        cmap = plt.get_cmap("viridis")  # levels are ordered: a sequential map
    else:
        cmap = plt.get_cmap("tab10")  # corruptions are not: distinct colours
        top = {k: max(r["noise"] for r in rows if r["corruption"] == k) for k in base}
        first = next(iter(base))
        rows = [r for r in rows if r["noise"] == top[r["corruption"]] or (r["noise"] == 0 and r["corruption"] == first)]
        key = lambda r: "true labels" if r["noise"] == 0 else (  # noqa: E731
            ("random labels" if r["corruption"] == "labels" else r["corruption"])
            + ("" if r["noise"] == 1 else f" p={r['noise']:g}"))
        title = "Training loss by corruption (Zhang Fig. 1a)"
    names = list(dict.fromkeys(key(r) for r in sorted(rows, key=lambda r: (r["noise"], r["corruption"]))))
    labelled = set()
    for r in rows:  # with --repeats, one curve per seed in its setting's colour, labelled once
        name = key(r)
        curve = r.get("curve") or []
        if len(base) == 1:
            color = cmap(names.index(name) / max(len(names) - 1, 1))
        else:  # each corruption in its colour of the other panels (matplotlib's cycle is tab10); true labels black
            color = "black" if r["noise"] == 0 else cmap(list(base).index(r["corruption"]) % 10)
        ax.plot([c["epoch"] for c in curve], [c["train_loss"] for c in curve], label=None if name in labelled else name,
                color=color)
        labelled.add(name)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="training loss (log scale)", title=title)
    if labelled:
        ax.legend(fontsize=8)


def _by_level(ax, groups: dict, base: dict, key: str, ylabel: str, title: str) -> bool:
    """A series per corruption against p from the analysis; error bars are the SD over seeds."""
    drawn = False
    for kind, reg in base.items():
        series = groups.get(f"{kind}/{reg}", {}).get(key, {})
        points = sorted((float(p), v) for p, v in series.items() if v)
        if key == "slowdown_by_noise" and points:
            points = [(0.0, {"mean": 1.0, "sd": 0.0}), *points]  # p=0 is the reference: 1x
        if not points:
            continue
        ax.errorbar([p for p, _ in points], [v["mean"] for _, v in points], yerr=[v["sd"] for _, v in points],
                    marker="o", capsize=3, label=kind)
        drawn = True
    ax.set(xlabel="noise level p", ylabel=ylabel, title=title)
    if drawn:
        ax.legend(fontsize=8)
    return drawn


def _spread(values: list[float]) -> tuple[float, float]:
    """Mean and sample SD (0 for one seed), as the analysis spreads them."""
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return mean, sd


def _errors(ax, rows: list, base: dict) -> None:
    """Zhang Fig. 1c: per corruption, test error and train error (1 - accuracy on the corrupted training set) by
    level, the mean over seeds of its baseline regularizer's rows, bars the SD over seeds."""
    seeds = 1
    for i, (kind, reg) in enumerate(base.items()):
        by: dict[float, list[dict]] = {}
        for r in rows:
            if r["corruption"] == kind and r.get("regularizer", "none") == reg:
                by.setdefault(r["noise"], []).append(r)
        levels = sorted(by)
        seeds = max([seeds, *(len(v) for v in by.values())])
        # train error dotted with open squares: at p=0 both sit near 0, one on the other
        for key, what, style in (("test_accuracy", "test error", dict(linestyle="-", marker="o")),
                                 ("train_accuracy", "train error", dict(linestyle=":", marker="s", mfc="none"))):
            points = [_spread([100 * (1 - r[key]) for r in by[p]]) for p in levels]
            if points:
                ax.errorbar(levels, [m for m, _ in points], yerr=[sd for _, sd in points], capsize=3, color=f"C{i}",
                            label=f"{kind} {what}", **style)
    if rows:
        ax.axhline(100 * (1 - 1 / rows[0]["num_classes"]), color="0.6", linestyle="--", label="chance")
    bar = f"mean of {seeds} seeds, bar: SD" if seeds > 1 else "one seed"
    ax.set(xlabel="noise level p", ylabel=f"error (%), {bar}", title="Test and train error vs noise (Zhang Fig. 1c)")
    ax.legend(fontsize=8)


def _max_probs(ax, rows: list, cmap) -> None:
    """Pereyra Fig. 1: where each regularizer's test predictions put their max probability, at p=0 (all seeds)."""
    hists: dict[str, list] = {}
    for r in rows:
        if r["noise"] == 0 and r.get("max_prob_hist"):
            h = hists.setdefault(r.get("regularizer", "none"), [0] * len(r["max_prob_hist"]))
            hists[r.get("regularizer", "none")] = [a + b for a, b in zip(h, r["max_prob_hist"])]
    for i, (reg, h) in enumerate(hists.items()):
        total = max(sum(h), 1)
        edges = [j / len(h) for j in range(len(h) + 1)]
        ax.stairs([100 * c / total for c in h], edges, color=cmap(i / max(len(hists) - 1, 1)), label=reg, linewidth=1.5)
    ax.set_yscale("symlog", linthresh=1)
    ax.set(xlabel="predicted max probability (test, p=0)", ylabel="% of predictions",
           title="Output confidence by regularizer (Pereyra Fig. 1)")
    if hists:
        ax.legend(fontsize=8)


def memorize_plot(report: Report, path: str) -> None:
    plt = pyplot()
    rows = sorted((r for r in report.rows if not r.get("error")), key=lambda r: (r["noise"], r.get("seed", 0)))
    base = _baselines(rows)
    groups = report.analysis.get("groups", {})
    several_regs = len({r.get("regularizer", "none") for r in rows}) > 1
    fig, axes = plt.subplots(2, 2, figsize=(12, 9)) if several_regs else plt.subplots(1, 3, figsize=(16, 4.5))
    axes = list(axes.flat)
    _loss_curves(axes[0], rows, base, plt)
    _by_level(axes[1], groups, base, "slowdown_by_noise", "steps to fit / steps at p=0",
              "Slowdown by noise level (Zhang Fig. 1b)")
    _errors(axes[2], rows, base)
    if several_regs:
        _max_probs(axes[3], rows, plt.get_cmap("tab10"))
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
