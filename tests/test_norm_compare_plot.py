"""`norm-compare --plot`: a line per norm and sampling at the mean over seeds, a bar from the lowest seed to the
highest (none with one seed), the legend beside the axes, off every point."""

import pytest

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.plots.norm_compare import figure, norm_compare_plot
from deepgen_cli.report.record import Report


def _report(batch: dict, group: list[float]) -> Report:
    """`batch`: microbatch -> test accuracy per seed of batch norm (iid); `group`: group norm's, per seed (its
    rows have no microbatch)."""
    rows = [{"norm": "batch", "sampling": "iid", "microbatch": m, "seed": s, "test_accuracy": a}
            for m, accs in batch.items() for s, a in enumerate(accs)]
    rows += [{"norm": "group", "sampling": "iid", "microbatch": None, "seed": s, "test_accuracy": a}
             for s, a in enumerate(group)]
    return Report("norm-compare", {}, {}, rows=rows)


def _bars(ax) -> dict[str, list[tuple[float, float]]]:
    """label -> [(bar bottom, bar top)] in %, from each errorbar's vertical segments."""
    return {c.get_label(): [(seg[0][1], seg[1][1]) for seg in c.lines[2][0].get_segments()] for c in ax.containers}


def test_three_seeds_draw_the_mean_with_a_bar_from_the_lowest_seed_to_the_highest():
    fig = figure(_report({2: [0.50, 0.60, 0.80], 8: [0.90, 0.93, 0.90]}, [0.95, 0.97, 0.96]))
    (ax,) = fig.axes
    bars = _bars(ax)
    assert set(bars) == {"batch (iid)", "group (iid)"}
    assert bars["batch (iid)"] == pytest.approx([(50.0, 80.0), (90.0, 93.0)])
    assert bars["group (iid)"] == pytest.approx([(95.0, 97.0), (95.0, 97.0)])  # flat across the microbatches
    means = {c.get_label(): list(c.lines[0].get_ydata()) for c in ax.containers}  # the line through the means
    assert means["batch (iid)"] == pytest.approx([190 / 3, 91.0])  # (50 + 60 + 80) / 3, (90 + 93 + 90) / 3
    assert means["group (iid)"] == pytest.approx([96.0, 96.0])
    assert "mean of 3 seeds, bar: lowest to highest seed" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8"]
    pyplot().close(fig)


def test_the_legend_lies_outside_the_axes_and_off_every_point():
    fig = figure(_report({2: [0.50, 0.60, 0.80], 4: [0.97, 0.98, 0.99], 8: [0.98, 0.99, 0.99]}, [0.98, 0.99, 0.97]))
    (ax,) = fig.axes
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert box.x0 > ax.get_window_extent().x1  # right of the axes, so no data point can be under it
    points = [xy for line in ax.lines for xy in ax.transData.transform(line.get_xydata())]
    assert points and not any(box.contains(x, y) for x, y in points)
    assert box.x1 <= fig.bbox.x1  # and still on the figure: tight_layout made room for it
    pyplot().close(fig)


def test_one_seed_draws_no_bar_and_says_so(tmp_path):
    report = _report({2: [0.5], 8: [0.9]}, [0.95])
    fig = figure(report)
    (ax,) = fig.axes
    assert list(ax.containers) == [] and list(ax.collections) == []
    assert {line.get_label(): list(line.get_ydata()) for line in ax.lines} == {"batch (iid)": [50.0, 90.0],
                                                                            "group (iid)": [95.0, 95.0]}
    assert ax.get_ylabel() == "test accuracy, eval mode (%), one seed"
    pyplot().close(fig)
    norm_compare_plot(report, str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
