"""The data options are the same in every training subcommand: synthetic shape, classes and counts."""

import dataclasses
import json

import pytest

from deepgen_cli.cli import spec

SYNTHETIC = ("--dataset", "synthetic", "--synthetic-shape", "3x8x8", "--synthetic-classes", "4",
             "--synthetic-examples", "40,20", "-q", "-f", "json")
FAST = {
    "memorize": ("--noise", "1", "--epochs", "1"),
    "probe": ("--epochs", "1", "--layers", "input,6", "--cka-examples", "0", "--no-control"),
    "norm-compare": ("--norms", "batch", "--batch-size", "4", "--microbatch", "2,4", "--non-iid", "0", "--epochs", "1",
                     "--repeats", "1"),
    "reuse": ("--epochs", "1"),
    "norm-depth": ("--depths", "1,2", "--microbatch", "2,4", "--batch-size", "4", "--epochs", "1", "--repeats", "1"),
    "probe-transfer": ("--epochs", "1", "--repeats", "1"),
    "width-reg": ("--widths", "2,4", "--epochs", "1", "--repeats", "1", "--subset", "40"),  # its default is 300
    "compress": ("--epochs", "1", "--finetune-epochs", "1", "--repeats", "2"),
    "downsample": ("--epochs", "1", "--repeats", "2"),
    "drop-blocks": ("--epochs", "1", "--repeats", "2"),
}
# Every registered command with the data options: one that takes them but has no FAST entry fails below.
TRAINING = sorted(s.name for s in spec.every() if "synthetic_shape" in {f.name for f in dataclasses.fields(s.config_cls)})


def test_every_command_with_data_options_is_tested():
    assert sorted(FAST) == TRAINING


@pytest.mark.parametrize("command", TRAINING)
def test_synthetic_data_reaches_every_training_command(cli, command):
    result = cli(command, *SYNTHETIC, *FAST[command])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    config = record["config"]
    assert (config["synthetic_shape"], config["synthetic_classes"], config["synthetic_examples"]) == ([3, 8, 8], 4, [40, 20])
    assert record["rows"] and not any(r.get("error") for r in record["rows"])


@pytest.mark.parametrize("command", TRAINING)
@pytest.mark.parametrize("flag, value", [("--synthetic-shape", "3x8"), ("--synthetic-classes", "1"),
                                         ("--synthetic-examples", "40"), ("--image-size", "1")])
def test_bad_data_options_are_usage_errors_everywhere(cli, command, flag, value):
    result = cli(command, "--dataset", "synthetic", flag, value, "-q")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"deepgen: error: {flag}") and result.stderr.count("\n") == 1
