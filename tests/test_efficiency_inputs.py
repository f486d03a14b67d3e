"""efficiency with the user's own model: --input-shape, --model-file with keywords, --by-layer, --flops, marks."""

import json

FAST = ("--min-time", "0.01", "--warmup", "0", "--quiet")

GRAY = '''
from torch import nn

def build(width=4):
    """A 1-channel 28x20 network: conv 1->width 3x3 (26x18 out), then a linear head."""
    return nn.Sequential(nn.Conv2d(1, width, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(width * 26 * 18, 10))

class Dist(nn.Module):
    def forward(self, x):
        return torch.cdist(x.flatten(1), x.flatten(1))

def pairwise():
    return nn.Sequential(nn.Conv2d(3, 2, 1, bias=False), Dist())

import torch
'''


def gray_madds(width):
    return width * 9 * 26 * 18 + width * 26 * 18 * 10  # 9 weights per output pixel; every head weight once


def _file(tmp_path):
    path = tmp_path / "gray.py"
    path.write_text(GRAY)
    return path


def test_one_channel_model_file_is_counted_through_input_shape(cli, tmp_path):
    result = cli("efficiency", "--model-file", f"{_file(tmp_path)}:build(width=2)", "--input-shape", "1x28x20",
                 "--format", "json", "--flops", *FAST)
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["rows"]  # the model file alone: no squeezenet, no mobilenet
    assert row["input_shape"] == "1x28x20" and row["threads"] == 1
    assert row["mult_adds"] == gray_madds(2) == 17_784 and row["flops"] == 2 * 17_784
    assert row["params"] == 2 * 9 + 2 * 26 * 18 * 10 + 10 and row["param_bytes"] == 4 * row["params"]
    # conv out 2x26x18 floats, linear out 10 floats (relu writes a new tensor too: not in place)
    assert row["activation_bytes"] == 4 * (2 * 2 * 26 * 18 + 10)
    assert row["peak_gpu_bytes"] is None and row["uncounted_matrix_ops"] == {}


def test_one_channel_model_without_input_shape_names_the_fix(cli, tmp_path):
    result = cli("efficiency", "--model-file", f"{_file(tmp_path)}:build", *FAST)
    assert result.exit_code == 1
    assert "--model-file: " in result.stderr and "it takes 1 channels: give --input-shape 1x224x224" in result.stderr


def test_model_file_beside_models_keeps_both(cli, tmp_path):
    result = cli("efficiency", "--models", "squeezenet1_1@64", "--model-file", f"{_file(tmp_path)}:pairwise@8",
                 "--format", "json", *FAST)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [r["input_shape"] for r in rows] == ["3x64x64", "3x8x8"] and rows[1]["mult_adds"] == 3 * 2 * 64


def test_by_layer_shows_output_shapes_depth_and_shares_for_a_model_file(cli, tmp_path):
    result = cli("efficiency", "--model-file", f"{_file(tmp_path)}:build", "--input-shape", "1x28x20",
                 "--by-layer", "--flops", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    rows = {r["module"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["0"]["output_shape"] == "1x4x26x18" and rows["2"]["output_shape"] == "1x1872"
    assert rows["0"]["mult_adds"] == 4 * 9 * 26 * 18 and rows["3"]["flops"] == 2 * 18_720
    assert abs(rows["3"]["mult_adds_share"] - 18_720 / gray_madds(4)) < 1e-12
    assert abs(sum(r["params_share"] for r in rows.values()) - 1) < 1e-12
    table = cli("efficiency", "--model-file", f"{_file(tmp_path)}:build", "--input-shape", "1x28x20", "--by-layer",
                "--flops", "--quiet")
    assert "1x4x26x18" in table.stdout and "FLOPs (2 x Mult-Adds)" in table.stdout


def test_depth_sums_children_into_their_parent():
    import torch
    from torch import nn

    from deepgen_cli.engine import measure
    from deepgen_cli.engine.efficiency.by_layer import layer_rows

    model = nn.Sequential(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), nn.Linear(2, 1))
    counted = measure.mult_adds(model, torch.zeros(1, 4))
    top = {r.module: (r.params, r.mult_adds, r.output_shape) for r in layer_rows(model, counted, 1, False)}
    assert top == {"0": (15 + 8, 12 + 6, "1x2"), "1": (3, 2, "1x1")}
    leaves = [r.module for r in layer_rows(model, counted, None, False)]
    assert leaves == ["0.0", "0.1", "1"]


def test_a_count_missing_a_matrix_op_is_marked_in_the_table_and_listed_in_json(cli, tmp_path):
    args = ("efficiency", "--model-file", f"{_file(tmp_path)}:pairwise", "--input-shape", "3x4x4", "--quiet")
    table = cli(*args, "--min-time", "0.01")
    assert table.exit_code == 0, table.stderr
    assert "too low: _cdist" in table.stdout  # in the row's own cell, not only a note
    (row,) = json.loads(cli(*args, "--min-time", "0.01", "--format", "json").stdout)["rows"]
    assert row["uncounted_matrix_ops"] == {"aten::_cdist_forward": 1} and row["mult_adds"] == 3 * 2 * 16
    layers = json.loads(cli(*args, "--by-layer", "--format", "json").stdout)["rows"]
    assert [r["uncounted_ops"] for r in layers] == ["", "too low: _cdist_forward"]


def test_model_file_keywords_must_be_literals(cli, tmp_path):
    result = cli("efficiency", "--model-file", f"{_file(tmp_path)}:build(width=os.system)", *FAST)
    assert result.exit_code == 2 and "--model-file: cannot read the arguments" in result.stderr
