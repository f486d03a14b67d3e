"""reuse --plot: a perceptual colour map scaled to the data's range, each cell's value printed on it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from deepgen_cli.report.plots import reuse  # noqa: E402
from deepgen_cli.report.record import Report  # noqa: E402


def test_heat_map_is_viridis_over_the_data_s_range_with_values(tmp_path, monkeypatch):
    block = {"block": 1, "targets": ["1", "2", "transition"], "normalized": [[1.0], [0.94, 1.0], [0.9, 0.93, 1.0]]}
    report = Report("reuse", {}, {}, seed=0)
    report.analysis = {"networks": {"trained": [block]}}
    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    reuse.reuse_plot(report, str(tmp_path / "r.png"))
    ax = figures[0].axes[0]
    image = ax.images[0]
    assert image.get_cmap().name == "viridis"
    assert image.get_clim() == (0.9, 1.0)  # the data's range, not 0..1
    # 6 readable cells of the 3x3 grid, each value printed once
    assert sorted(t.get_text() for t in ax.texts) == ["0.90", "0.93", "0.94", "1.00", "1.00", "1.00"]
