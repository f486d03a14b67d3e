"""The GPU paths as far as a CPU can check them: evaluation under the training autocast and memory format,
augmentation that keeps channels-last, --deterministic, --device under torchrun, and gpu_check.sh skipping."""

import json
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

from deepgen_cli.engine import env, train
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.modes import deterministic

ROOT = Path(__file__).resolve().parents[1]


def test_augment_keeps_channels_last_and_its_values():
    x = torch.randn(6, 3, 8, 8)
    plain = train.augment(x, torch.Generator().manual_seed(1))
    cl = train.augment(x.contiguous(memory_format=torch.channels_last), torch.Generator().manual_seed(1))
    assert cl.is_contiguous(memory_format=torch.channels_last) and not cl.is_contiguous()
    assert plain.is_contiguous() and torch.equal(plain, cl)


class Spy(nn.Module):
    """Records the dtype of its linear layer's output and whether its input came channels-last."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 4 * 4, 5)
        self.seen = []

    def forward(self, x):
        out = self.fc(x.flatten(1))
        self.seen.append((out.dtype, x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()))
        return out


@pytest.mark.parametrize("amp, channels_last, expect", [
    ("none", False, (torch.float32, False)),
    ("bf16", True, (torch.bfloat16, True)),  # autocast runs on the CPU too
])
def test_evaluation_runs_as_training_does(amp, channels_last, expect):
    x, y = torch.randn(10, 3, 4, 4), torch.arange(10) % 5
    cfg = train.TrainConfig(amp=amp, channels_last=channels_last)
    model = Spy()
    result = train.evaluate(model, x, y, "cpu", batch_size=4, cfg=cfg)
    assert model.seen == [expect] * 3 and result.examples == 10  # batches of 4, 4 and 2
    model.seen.clear()
    data = type("D", (), {"x_train": x, "y_train": y, "x_test": x, "y_test": y})()
    again = train.evaluate_data(model, data, "test", "cpu", cfg, batch_size=4)
    assert model.seen == [expect] * 3 and again.accuracy == result.accuracy


def test_train_result_holds_the_module_evaluated_as_trained(one_thread):
    from deepgen_cli.engine import data as data_mod

    d = data_mod.load(data_mod.DataConfig(subset=64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    result = train.train(model, d, train.TrainConfig(epochs=1, batch_size=32), "cpu")
    assert result.model is model  # not compiled: the module itself
    net, eval_net = train.prepare(nn.Linear(2, 2), train.TrainConfig(compile=True), torch.device("cpu"), None)
    assert net is eval_net and type(net).__name__ == "OptimizedModule"  # compiled lazily, at the first call


def test_deterministic_is_set_inside_and_restored_after():
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic(True):
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
    assert torch.are_deterministic_algorithms_enabled() == before
    with pytest.raises(RunError, match="--deterministic: .*scatter"):
        with deterministic(True):  # what torch raises for an op without a deterministic kernel (CUDA only)
            raise RuntimeError("scatter_add_cuda_kernel does not have a deterministic implementation, but you set "
                               "'torch.use_deterministic_algorithms(True)'")
    with pytest.raises(RuntimeError, match="other"):
        with deterministic(True):
            raise RuntimeError("other")


def test_deterministic_is_recorded_in_the_config(cli, tmp_path):
    result = cli("memorize", "--noise", "1", "--subset", "100", "--epochs", "2", "--deterministic", "--quiet",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["config"]["deterministic"] is True
    assert not torch.are_deterministic_algorithms_enabled()


def test_device_under_torchrun(monkeypatch):
    for k, v in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(k, v)
    assert env.resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert env.resolve_device("auto") == torch.device("cpu")  # gloo ranks on the CPU
    with pytest.raises(UsageError, match="LOCAL_RANK"):
        env.resolve_device("cuda:0")  # two ranks on this machine cannot share one named GPU


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_gpu_check_skips_without_a_gpu():
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout == "no GPU: skipped\n"


def test_gpu_check_compares_a_repeat_only_with_a_run_that_passed(tmp_path, monkeypatch, capsys):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    record = json.dumps({"rows": [{"curve": [{"train_loss": 0.5, "train_accuracy": 1.0}], "test_loss": 2.0}]})
    ok = [sys.executable, "-c", f"print({record!r})"]
    fail = [sys.executable, "-c", "import sys; sys.exit('no deterministic kernel')"]
    monkeypatch.setattr(gpu_check, "paths", lambda device: [
        ("passes", ok, 60, lambda out: "read"),
        ("deterministic", fail, 60, lambda out: "read"),
        ("  the same again", ok, 60, None),  # its run failed: nothing to compare with (not the run before it)
        ("deterministic", ok, 60, lambda out: "read"),
        ("  the same again", ok, 60, None)])
    monkeypatch.setattr(sys, "argv", ["gpu_check.py", "--log-dir", str(tmp_path)])
    assert gpu_check.main() == 1
    lines = [line.split("(")[0].split() for line in capsys.readouterr().out.splitlines()]
    assert lines[:5] == [["passes", "ok", "read"], ["deterministic", "FAIL", "no", "deterministic", "kernel"],
                         ["the", "same", "again", "skipped:", "the", "run", "before", "failed"],
                         ["deterministic", "ok", "read"],
                         ["the", "same", "again", "ok", "losses", "bit-identical", "to", "the", "run", "before"]]
    assert lines[5][:2] == ["1", "failed;"]
