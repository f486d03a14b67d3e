"""`probe --plot`: each layer named on the x axis with its module type at its depth, a line per snapshot at the
mean over its seeds."""

import pytest

from deepgen_cli.report.plots import pyplot
from deepgen_cli.report.plots.probe import figure, layer_label
from deepgen_cli.report.record import Report

LAYERS = [("input", "input"), ("conv1", "Conv2d"), ("conv1.relu", "ReLU"), ("fc", "Linear")]


def _rows(snapshot: str, seed: int, test: list[float]) -> list[dict]:
    return [{"snapshot": snapshot, "seed": seed, "depth": d, "layer": name, "type": kind, "test_error": e,
             "train_error": e / 2} for d, ((name, kind), e) in enumerate(zip(LAYERS, test))]


def test_the_x_axis_names_each_layer_with_its_type_and_lines_average_the_seeds():
    rows = _rows("untrained", 0, [0.9, 0.8, 0.7, 0.6]) + _rows("epoch 2", 0, [0.9, 0.4, 0.3, 0.2])
    rows += _rows("epoch 2", 1, [0.9, 0.2, 0.1, 0.0])
    fig = figure(Report("probe", {"model": "cnn", "dataset": "digits"}, {}, rows=rows[::-1]))  # any row order
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["input", "conv1 (Conv2d)", "conv1.relu (ReLU)",
                                                            "fc (Linear)"]
    assert list(ax.get_xticks()) == [0, 1, 2, 3]
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert lines["epoch 2, mean of 2 seeds (test)"] == pytest.approx([0.9, 0.3, 0.2, 0.1])
    assert lines["epoch 2, mean of 2 seeds (train)"] == pytest.approx([0.45, 0.15, 0.1, 0.05])
    assert lines["untrained (test)"] == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert ax.get_title() == "Linear probe error by layer: cnn on digits"
    pyplot().close(fig)


def test_a_layer_without_a_type_keeps_its_name():
    assert layer_label({"layer": "features.3", "type": "MaxPool2d"}) == "features.3 (MaxPool2d)"
    assert layer_label({"layer": "input", "type": "input"}) == "input"
    assert layer_label({"layer": "block2"}) == "block2"  # a record from before rows carried the type
