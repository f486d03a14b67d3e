"""`--model-file FILE.py:FACTORY(kw=...)` in memorize and probe: the user's network is trained and named in the
rows, its keyword arguments reach the factory, the data's sizes reach a factory that takes them, and the forms
these commands cannot take exit 2 in one line."""

import json

import pytest

NET = '''
from torch import nn

def build(width=4, num_classes=3, in_channels=3, image_size=32):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, width), nn.ReLU(),
                         nn.Linear(width, num_classes))
'''


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(NET)
    return path


def test_memorize_trains_the_file_s_network_with_its_keyword_arguments(cli, net, one_thread):
    ref = f"{net}:build(width=48)"
    result = cli("memorize", "--model-file", ref, "--noise", "0,1", "--subset", "100", "--epochs", "2",
                 "--repeats", "1", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    row = record["rows"][0]
    # digits: 8x8 gray, 10 classes, handed to build(); 100 training examples as --subset says
    assert row["model"] == ref and row["num_classes"] == 10 and row["train_examples"] == 100
    assert record["config"]["model_file"] == ref
    assert record["findings"][0]["claim"].startswith(f"{ref} fits")


def test_probe_probes_every_layer_of_the_file_s_network(cli, net, one_thread):
    result = cli("probe", "--model-file", f"{net}:build(width=24)", "--epochs", "1", "--subset", "100",
                 "--cka-examples", "16", "--repeats", "1", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    # input (1x8x8), Linear (width 24), ReLU (24), Linear (10 classes); Flatten only reshapes the input
    assert [(r["layer"], r["type"], r["features"]) for r in rows] == [
        ("input", "input", 64), ("1", "Linear", 24), ("2", "ReLU", 24), ("3", "Linear", 10)]


@pytest.mark.parametrize("args, words", [
    (("{net}:build@32",), "@32 sets efficiency's input size"),
    (("{net}:nothing",), "has no function 'nothing'"),
    (("{net}:build(3)",), "write keyword=literal pairs"),
    (("{net}:build", "--model", "mlp1x512"), "--model: --model-file gives the network; drop it"),
])
@pytest.mark.parametrize("command", ["memorize", "probe"])
def test_forms_these_commands_cannot_take_exit_2_in_one_line(cli, net, command, args, words):
    result = cli(command, "--model-file", args[0].format(net=net), *args[1:], "--quiet")
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_norm_compare_and_reuse_say_why_a_file_s_network_does_not_fit_them(cli, net, one_thread):
    result = cli("norm-compare", "--model-file", f"{net}:build", "--quiet")
    assert result.exit_code == 2 and "once per norm" in result.stderr and "mlp-bn" in result.stderr, result.stderr
    # reuse needs a DenseNet's layer-by-layer weights; this file's build() gives a Sequential
    result = cli("reuse", "--model-file", f"{net}:build", "--epochs", "1", "--subset", "50", "--repeats", "1",
                 "--quiet")
    assert result.exit_code == 2 and "gave a Sequential, not a" in result.stderr, result.stderr
