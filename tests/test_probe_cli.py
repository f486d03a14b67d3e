"""`deepgen probe` through the CLI: the record on stdout, post-hoc modes, reductions, the plot, bad input."""

import csv
import io
import json

import pytest
import torch

FAST = ("--subset", "200", "--batch-size", "50", "--cka-examples", "40", "--repeats", "1", "--quiet")


def test_training_mode_json_is_the_whole_record(cli, tmp_path):
    out = tmp_path / "probe.json"
    result = cli("probe", "--epochs", "2", "--snapshots", "1,2", "--format", "json", "--output", out, *FAST)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record == json.loads(out.read_text()) and record["status"] == "complete"
    assert record["command"] == "probe" and record["config"]["snapshots"] == [1, 2]
    rows = record["rows"]
    assert [r["snapshot"] for r in rows] == ["epoch 1"] * 8 + ["epoch 2"] * 8
    first = rows[0]
    assert (first["layer"], first["shape"], first["features"], first["probe_params"]) == ("input", "1x8x8", 64, 650)
    assert first["probe_mib"] == first["full_probe_mib"] == 650 * 12 / 2 ** 20
    assert rows[1]["features"] == 32 * 8 * 8 and rows[1]["reduction"] == "none"
    trend, first_last, monotone = record["findings"]
    assert trend["claim"].startswith("Linear probe error decreases") and "epoch 2, 8 layers" in trend["measured"]
    assert "McNemar exact two-sided p = " in first_last["measured"] and "Holm" in monotone["measured"]
    assert record["analysis"]["cka_examples"] == 40 and len(record["analysis"]["tests"]) == 1 + 1 + 7
    assert "test_correct" in rows[0] and "control_train_accuracy" in rows[0]
    assert [s["snapshot"] for s in record["analysis"]["snapshots"]] == ["epoch 1", "epoch 2"]


def test_untrained_model_is_probed_post_hoc_against_the_input(cli):
    threads = torch.get_num_threads()
    result = cli("probe", "--untrained", "--layers", "input,1,3", "--probe-epochs", "2", "--format", "csv", *FAST)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["layer"] for r in rows] == ["input", "1", "3"] and {r["snapshot"] for r in rows} == {"untrained"}
    assert rows[1]["type"] == "MaxPool2d" and rows[1]["shape"] == "32x4x4"
    assert "test_correct" not in rows[0] and float(rows[0]["control_train_accuracy"]) > 0  # CSV: scalars only
    assert torch.get_num_threads() == threads  # --threads 1 (the default) held only during the run


def test_saved_weights_are_probed_and_judged(cli, tmp_path):
    from deepgen_cli.engine import models

    path = tmp_path / "cnn.pt"
    torch.save(models.create("cnn", in_channels=1, image_size=8, num_classes=10).state_dict(), path)
    result = cli("probe", "--weights", path, "--probe-epochs", "1", "--format", "markdown", *FAST)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("| snapshot | depth | layer |")
    assert "| trained | 0 | input |" in result.stdout
    assert "Linear probe error never rises by more than 1 point" in result.stdout
    assert "| control acc | selectivity |" in result.stdout


def test_the_budget_reduces_big_layers_and_the_table_shows_both_sizes(cli):
    # 0.05 MiB per probe of 10 classes: floor(0.05 * 2^20 / 120) - 1 = 435 features at most
    result = cli("probe", "--untrained", "--layers", "0.2,3", "--max-probe-mb", "0.05", "--probe-epochs", "1",
                 "--format", "json", *FAST)
    assert result.exit_code == 0, result.stderr
    relu, pool = json.loads(result.stdout)["rows"]
    assert (relu["reduction"], relu["features"], relu["probe_features"]) == ("project", 2048, 435)
    assert relu["full_probe_mib"] == 2049 * 10 * 12 / 2 ** 20 and relu["probe_mib"] <= 0.05
    assert (pool["reduction"], pool["probe_features"]) == ("none", 256)
    table = cli("probe", "--untrained", "--layers", "0.2", "--max-probe-mb", "0.05", "--reduce", "pool",
                "--probe-epochs", "1", *FAST)
    assert table.exit_code == 0 and "pool" in table.stdout and "0.23" in table.stdout  # full MiB beside used


def test_plot_is_written(cli, tmp_path):
    png = tmp_path / "probe.png"
    result = cli("probe", "--epochs", "1", "--plot", png, "--no-control", "--format", "json", *FAST)
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(result.stdout)["rows"][0]["selectivity"] is None


def test_bad_input_is_one_line_with_exit_2(cli, tmp_path):
    cases = [
        (("--reduce", "median"), "--reduce: must be one of: auto, none, subset, project, pool, got median"),
        (("--snapshots", "9"), "--snapshots: epoch 9 is outside 1..4 (--epochs)"),
        (("--snapshots", "x"), "--snapshots: cannot read 'x'"),
        (("--model", "nope"), "--model: unknown model 'nope'; valid: "),
        (("--untrained", "--weights", "w.pt"), "--untrained: cannot be combined with --weights"),
        (("--untrained", "--snapshots", "1"), "--snapshots: epochs of training mode"),
        (("--threads", "0"), "--threads: must be an integer from 1 to 256, got 0"),
        (("--image-size", "2"), "--image-size: must be an integer in [4, 512] pixels, got 2"),
        (("--resume",), "--resume: needs --output FILE"),
        (("--max-probe-mb", "0"), "--max-probe-mb: must be a positive number"),
        (("--cka-examples", "3"), "--cka-examples: must be 0 (off) or 4 or more"),
        (("--max-probe-mb", "0.0001"), "--max-probe-mb: 0.0001 MiB cannot hold a probe for 10 classes"),
        (("--layers", "9"), "--layers: '9' matches no probe-able layer; valid: input, 0.0, 0.2"),
        (("--weights", tmp_path / "none.pt"), "--weights: no file at"),
        (("--plot", "x.jpg"), "--plot: 'x.jpg' must end in .png"),
    ]
    for args, message in cases:
        result = cli("probe", *args, "--quiet")
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("deepgen: error: ") and message in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1


def test_resume_reuses_rows_of_the_same_config_and_recomputes_the_rest(cli, tmp_path):
    out = tmp_path / "probe.json"
    args = ("probe", "--untrained", "--layers", "input,1", "--probe-epochs", "1", "--format", "json", "--output", out,
            *FAST)
    first = json.loads(cli(*args).stdout)["rows"]
    record = json.loads(out.read_text())
    record["rows"] = record["rows"][1:]  # as if the run had stopped after the input's row: remove it ...
    record["rows"][0]["test_error"] = 0.5  # ... and mark the kept row, to see it come back unmeasured
    out.write_text(json.dumps(record))
    result = cli(*args, "--resume")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [r["layer"] for r in rows] == ["input", "1"]  # still in depth order
    assert rows[0] == first[0] and rows[1]["test_error"] == 0.5
    other = cli("probe", "--untrained", "--layers", "input,1", "--probe-epochs", "2", "--format", "json",
                "--output", out, "--resume", *FAST)  # another config: refused, the record kept
    assert other.exit_code == 2 and "probe_epochs" in other.stderr.replace("-", "_")
    assert json.loads(out.read_text())["rows"][1]["test_error"] == 0.5


def test_resume_in_training_mode_trains_only_as_far_as_needed(cli, tmp_path):
    out = tmp_path / "probe.json"
    args = ("probe", "--epochs", "2", "--snapshots", "1,2", "--layers", "input,3", "--format", "json",
            "--output", out, *FAST)
    first = json.loads(cli(*args).stdout)["rows"]
    record = json.loads(out.read_text())
    record["rows"] = [r for r in record["rows"] if r["snapshot"] == "epoch 2"]  # epoch 1 is missing
    for r in record["rows"]:
        r["test_error"] = 0.5
    out.write_text(json.dumps(record))
    result = cli(*args, "--resume")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    # Epoch 1 is measured again (one epoch of training) and matches; epoch 2 comes from the file.
    assert rows[:2] == first[:2] and [r["test_error"] for r in rows[2:]] == [0.5, 0.5]


def test_on_28x28_mnist_files_every_probe_of_a_layer_wider_than_the_training_set_fits_it(cli, tmp_path):
    import numpy as np

    from tests.test_data import _idx

    # A tiny MNIST-format file set: 300 training and 100 test images of 28 x 28 pixel noise, labels 0..9 in turn:
    # nothing to learn, but a layer with more (independent) features than the 300 examples can fit any labelling,
    # so a probe at its optimum fits these; an SGD probe at one learning rate does not in one epoch
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 300), ("t10k", 100)):
        _idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    result = cli("probe", "--dataset", "mnist", "--data-dir", tmp_path, "--epochs", "1", "--repeats", "1",
                 "--cka-examples", "0", "--no-control", "--batch-size", "50", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    wide = [r for r in rows if r["features"] > 300]
    assert [r["features"] for r in wide] == [784, 25088, 25088, 6272, 12544, 12544]  # all but the last two layers
    # each converged probe reads its features (784) or a 2,048-feature sketch, more than the 300 examples, and fits
    # every training image; the row records its solve and the SGD probe's error beside it
    assert all(r["train_error"] <= 0.05 and r["probe_converged"] and r["fit_residual"] < 1e-6 for r in wide)
    assert [r["control_features"] for r in wide] == [784] + [2048] * 5
    assert max(r["sgd_train_error"] for r in wide) > 0.05  # what the verdicts read before


@pytest.mark.slow
def test_at_28x28_on_digits_no_converged_probe_of_a_layer_wider_than_the_training_set_stays_above_5_percent(cli):
    # issue 24: with one SGD learning rate the 25,088-feature layers ended at 54-61% training error. At --image-size
    # 28 every layer of the cnn but the last two has more features than digits' 1,347 training images; its probe at
    # the optimum fits them to within 5%, or its row says it did not converge and the verdicts are null.
    result = cli("probe", "--image-size", "28", "--epochs", "1", "--repeats", "1", "--cka-examples", "0",
                 "--no-control", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    wide = [r for r in record["rows"] if r["features"] > 1347]
    assert [r["layer"] for r in wide] == ["0.0", "0.2", "1", "2.0", "2.2"] * len(record["config"]["snapshots"])
    loose = [r for r in wide if not r["probe_converged"]]
    assert all(r["train_error"] <= 0.05 for r in wide if r["probe_converged"]), [
        (r["layer"], r["train_error"]) for r in wide]
    # layer 0.0, the first convolution before its ReLU, is an affine map of the 784 pixels: its fit is the input's,
    # 66 of 1,347 wrong (4.9%); the layers after a ReLU fit every training image
    assert [round(r["train_error"] * 1347) for r in wide[-5:]] == [66, 0, 0, 0, 0]
    assert not loose or all(f["reproduced"] is None for f in record["findings"])
