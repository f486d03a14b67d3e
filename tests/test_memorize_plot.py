"""`memorize --plot`: with several regularizers a 2x2 figure whose fourth panel is Pereyra et al.'s Figure 1,
the max-probability histogram per regularizer summed over seeds; one regularizer keeps the 1x3 Figure 1 of Zhang."""

import json
import struct

from deepgen_cli.report.plots import pyplot
import pytest

from deepgen_cli.report.plots.memorize import _baselines, _errors, _max_probs


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR: width, height in pixels


def test_max_probability_histograms_are_percent_of_test_predictions_per_regularizer():
    plt = pyplot()
    fig, ax = plt.subplots()
    hist = lambda top, mid: [0] * 9 + [mid] + [0] * 9 + [top]  # noqa: E731  bin 9: (0.45, 0.5], bin 19: (0.95, 1]
    rows = [{"noise": 0.0, "regularizer": "none", "max_prob_hist": hist(3, 1)},  # seed 0
            {"noise": 0.0, "regularizer": "none", "max_prob_hist": hist(4, 0)},  # seed 1: 7 of 8 at the top
            {"noise": 0.0, "regularizer": "confidence-penalty", "max_prob_hist": hist(1, 3)},
            {"noise": 1.0, "regularizer": "none", "max_prob_hist": hist(0, 4)}]  # p=1: not in Pereyra's figure
    _max_probs(ax, rows, plt.get_cmap("tab10"))
    steps = {p.get_label(): list(p.get_data().values) for p in ax.patches}
    assert steps["none"][19] == 87.5 and steps["none"][9] == 12.5 and sum(steps["none"]) == 100.0
    assert steps["confidence-penalty"][19] == 25.0 and steps["confidence-penalty"][9] == 75.0
    plt.close(fig)


def test_figure_1c_draws_train_error_as_one_minus_train_accuracy_beside_test_error():
    plt = pyplot()
    fig, ax = plt.subplots()
    row = lambda p, seed, train, test, reg="none": {  # noqa: E731
        "corruption": "labels", "regularizer": reg, "noise": p, "seed": seed, "train_accuracy": train,
        "test_accuracy": test, "num_classes": 10}
    rows = [row(0.0, 0, 1.00, 0.97), row(0.0, 1, 1.00, 0.95), row(1.0, 0, 0.90, 0.10), row(1.0, 1, 0.80, 0.12),
            row(1.0, 0, 0.20, 0.11, reg="dropout")]  # not the baseline regularizer: not in Zhang's panel
    _errors(ax, rows, _baselines(rows))
    drawn = {c.get_label(): c for c in ax.containers}
    assert set(drawn) == {"labels test error", "labels train error"}
    train = drawn["labels train error"]
    assert list(train.lines[0].get_xdata()) == [0.0, 1.0]
    assert list(train.lines[0].get_ydata()) == pytest.approx([0.0, 15.0])  # 1 - (0.9 + 0.8) / 2, in %
    bottom, top = zip(*[(seg[0][1], seg[1][1]) for seg in train.lines[2][0].get_segments()])
    assert list(top) == pytest.approx([0.0, 15 + 50 ** 0.5])  # SD of 10 and 20 points: sqrt(50)
    assert list(drawn["labels test error"].lines[0].get_ydata()) == pytest.approx([4.0, 89.0])
    assert ax.get_ylabel() == "error (%), mean of 2 seeds, bar: SD"
    assert [line.get_ydata()[0] for line in ax.lines if line.get_label() == "chance"] == pytest.approx([90.0])
    plt.close(fig)


def test_a_regularizer_sweep_adds_the_histogram_panel(cli, tmp_path):
    reg, one = tmp_path / "reg.png", tmp_path / "one.png"
    args = ("--noise", "0", "--subset", "100", "--epochs", "2", "-q", "-f", "json")
    result = cli("memorize", "--regularizer", "none,label-smoothing", *args, "--plot", reg)
    assert result.exit_code == 0, result.stderr
    assert all(sum(r["max_prob_hist"]) == 450 for r in json.loads(result.stdout)["rows"])
    assert cli("memorize", *args, "--plot", one).exit_code == 0
    assert _png_size(reg) == (1440, 1080)  # 12 x 9 inches at 120 dpi: 2x2 panels
    assert _png_size(one) == (1920, 540)  # 16 x 4.5 inches: Zhang's 1a-c in a row
