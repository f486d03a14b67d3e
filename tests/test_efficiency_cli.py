"""`deepgen efficiency` through the CLI: formats, the results file, findings, and every bad input."""

import csv
import io
import json

import pytest
import torch

FAST = ("--min-time", "0.01", "--quiet")


def test_json_on_stdout_is_the_whole_record(cli, tmp_path):
    out = tmp_path / "r.json"
    result = cli("efficiency", "--models", "squeezenet1_1@64,densenet-bc-100-k12", "--format", "json",
                 "--output", out, "--seed", 3, *FAST)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)  # nothing else on stdout
    assert record == json.loads(out.read_text())
    assert record["command"] == "efficiency" and record["status"] == "complete" and record["seed"] == 3
    assert {"python", "torch", "torchvision", "fvcore", "device", "device_name", "threads"} <= set(record["environment"])
    assert record["config"]["models"] == ["squeezenet1_1@64", "densenet-bc-100-k12"]
    first, second = record["rows"]
    assert first["params"] == 1_235_496 and first["resolution"] == 64
    assert second["params_ratio"] == pytest.approx(1_235_496 / second["params"])
    assert len(second["latency_samples_ms"]) >= 5
    assert second["published_dataset"] == "CIFAR-10+" and second["top1"] == pytest.approx(0.9549)


def test_csv_has_a_header_and_scalar_columns_only(cli):
    result = cli("efficiency", "--models", "densenet-bc-100-k12", "--format", "csv", *FAST)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 0 and len(rows) == 1
    assert rows[0]["model"] == "densenet-bc-100-k12" and int(rows[0]["params"]) == 769_162
    assert "latency_samples_ms" not in rows[0]


def test_table_and_markdown_render_the_same_rows(cli):
    table = cli("efficiency", "--models", "densenet-bc-100-k12", *FAST)
    markdown = cli("efficiency", "--models", "densenet-bc-100-k12", "--format", "markdown", *FAST)
    assert "769.2k" in table.stdout and "densenet-bc-100-k12" in table.stdout
    assert markdown.stdout.startswith("| model |") and "| densenet-bc-100-k12 |" in markdown.stdout


def test_published_accuracy_comes_from_torchvision_metadata(cli):
    import torchvision

    result = cli("efficiency", "--models", "squeezenet", "--format", "json", *FAST)
    row = json.loads(result.stdout)["rows"][0]
    meta = torchvision.models.SqueezeNet1_0_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
    assert row["top1"] == pytest.approx(meta["acc@1"] / 100) == pytest.approx(0.58092)
    assert row["mult_adds"] == 818_924_576


def test_depthwise_separable_claim_is_checked(cli):
    result = cli("efficiency", "--models", "mobilenet,mobilenet-conv", "--format", "json", *FAST)
    record = json.loads(result.stdout)
    findings = {f["claim"]: f for f in record["findings"]}
    dw = next(f for c, f in findings.items() if c.startswith("Depthwise separable"))
    assert dw["reproduced"] is True and "8.56x" in dw["measured"] and dw["basis"] == "architecture"
    # One MobileNet point: no verdict, so the paper's other seven points are not traced at all (issue 25)
    assert not any("log-linear" in c for c in findings)
    assert "mobilenet_family" not in record["analysis"]


def test_no_verdict_for_an_untested_claim(cli):
    result = cli("efficiency", "--models", "squeezenet1_1@64", "--format", "json", *FAST)
    assert json.loads(result.stdout)["findings"] == []


def test_by_layer_rows_add_up_to_the_total(cli):
    result = cli("efficiency", "--models", "squeezenet1_1@64", "--by-layer", "--format", "json", "--quiet")
    record = json.loads(result.stdout)
    assert result.exit_code == 0
    assert sum(r["mult_adds"] for r in record["rows"]) == record["analysis"]["mult_adds_total"]
    assert sum(r["params"] for r in record["rows"]) == 1_235_496
    assert record["rows"][0]["module"] == "features.0"


def test_weights_and_model_file(cli, tmp_path):
    net = tmp_path / "net.py"
    net.write_text("import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), "
                   "torch.nn.Flatten(), torch.nn.LazyLinear(2))\n"
                   "def tiny():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.AdaptiveAvgPool2d(1),"
                   " torch.nn.Flatten())\n")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    torch.save(model.state_dict(), tmp_path / "w.pt")
    result = cli("efficiency", "--model-file", f"{net}:tiny@16", "--weights", tmp_path / "w.pt",
                 "--format", "json", *FAST)
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["rows"][0]
    assert (row["params"], row["mult_adds"], row["resolution"]) == (8, 6 * 256, 16)

    torch.save({"0.weight": torch.zeros(5, 3, 1, 1)}, tmp_path / "bad.pt")
    bad = cli("efficiency", "--model-file", f"{net}:tiny@16", "--weights", tmp_path / "bad.pt", *FAST)
    assert bad.exit_code == 1 and "key '0.weight' has shape (5, 3, 1, 1)" in bad.stderr


@pytest.mark.parametrize("args,code,needle", [
    (["--models", "nosuchnet"], 2, "--models: unknown model 'nosuchnet'; valid: alexnet"),
    (["--input-shape", "3x32"], 2, "--input-shape: cannot read '3x32'; write CHANNELSxHEIGHTxWIDTH"),
    (["--models", "alexnet@64", "--input-shape", "3x64x64"], 2, "--input-shape: 'alexnet@64' also gives a resolution"),
    (["--models", "squeezenet", "--depth", "2"], 2, "--depth: it sets --by-layer's nesting"),
    (["--models", "mobilenet:9"], 2, "--models: width multiplier"),
    (["--models", "squeezenet:0.5"], 2, "takes no width multiplier"),
    (["--models", "squeezenet", "--format", "xml"], 2, "'--format'"),
    (["--models", "squeezenet", "--output", "/nonexistent-dir/r.json"], 2, "--output: cannot write"),
    (["--models", "squeezenet", "--half", "--device", "cpu"], 2, "--half"),
    (["--models", "squeezenet", "--batch-size", "0"], 2, "--batch-size"),
    (["--models", "squeezenet", "--baseline", "alexnet"], 2, "--baseline: 'alexnet' is not among"),
    (["--models", "squeezenet,alexnet", "--weights", "x.pt"], 2, "--weights: give exactly one model"),
    (["--models", "squeezenet", "--weights", "/nonexistent.pt"], 2, "--weights: no file"),
    (["--models", "squeezenet", "--plot", "x.jpg"], 2, "--plot"),
    (["--models", "alexnet@16"], 1, "--models: 'alexnet@16' cannot run on a 3x16x16 input"),
    (["--models", "alexnet", "--input-shape", "3x16x16"], 1, "too small for its layers: try --input-shape 3x64x64"),
    (["--models", "squeezenet1_1", "--input-shape", "1x64x64"], 1, "it takes 3 channels: give --input-shape 3x64x64"),
    (["--model-file", "nofile.py:build"], 2, "--model-file: no file"),
    (["--models", ""], 2, "--models: no model given"),
])
def test_bad_input_gets_one_line_and_its_exit_code(cli, args, code, needle):
    result = cli("efficiency", *args, *FAST)
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_a_usage_error(cli):
    result = cli("efficiency", "--models", "squeezenet", "--device", "cuda", *FAST)
    assert result.exit_code == 2 and "--device cuda: no CUDA GPU" in result.stderr


def test_models_lists_names_with_descriptions(cli):
    result = cli("models", "squeezenet*", "--format", "json")
    assert [r["name"] for r in json.loads(result.stdout)] == ["squeezenet", "squeezenet1_1"]


def test_version(cli):
    from deepgen_cli import __version__

    assert cli("--version").stdout.strip() == f"deepgen {__version__}"


def test_block_orders_run_each_model_first_as_often_as_last():
    from deepgen_cli.engine.measure import block_orders

    assert block_orders(2, 4) == [[0, 1], [1, 0], [1, 0], [0, 1]]
    three = block_orders(3, 6)
    assert sorted(map(tuple, three)) == sorted(__import__("itertools").permutations(range(3)))


# --- negative controls: settings where a timing claim's phenomenon is absent, so its verdict must not be yes ---

from deepgen_cli.engine.efficiency.controls import CONTROLS  # noqa: E402


def _run_control(control):
    import torch

    from deepgen_cli.engine import efficiency
    from tests.sessions import Recorder

    config = efficiency.EfficiencyConfig(**control.overrides)
    out = efficiency.run(config, torch.device("cpu"), Recorder())
    judged = [f for f in out.findings if any(f.claim.startswith(c) for c in control.claims)]
    assert len(judged) == len(control.claims), [f.claim for f in out.findings]  # each controlled claim judged
    assert "timing_blocks_ms" in out.analysis and all(len(v) == 8 for v in out.analysis["timing_blocks_ms"].values())
    return judged


@pytest.mark.parametrize("index", range(len(CONTROLS)))
def test_timing_controls_never_say_yes(index):
    # a few seconds each: the models at 32x32 take milliseconds a forward pass
    assert all(f.reproduced is not True for f in _run_control(CONTROLS[index]))
