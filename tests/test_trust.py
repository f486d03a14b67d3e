"""Files from elsewhere are data, never code: a hostile CIFAR-10 batch, --weights file or --resume record is
refused with one line and exit code, and what it asked to run never runs."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from deepgen_cli.engine import data
from tests.test_data import write_cifar
from tests.test_safe_pickle import Payload

ROOT = Path(__file__).resolve().parents[1]  # python -m deepgen_cli imports this checkout's package


def _hostile_cifar(root, marker, payload) -> str:
    """Real-format batches, with data_batch_1 replaced by one whose unpickling creates `marker`."""
    folder = write_cifar(root)
    batch = folder / "data_batch_1"
    batch.write_bytes(pickle.dumps({b"data": payload, b"labels": [0, 1]}))
    with open(batch, "rb") as f:  # the payload works: plain pickle.load runs it
        pickle.load(f)
    assert marker.exists()
    marker.unlink()
    return str(batch)


def test_a_cifar_batch_that_would_run_a_command_exits_1_with_one_line(tmp_path):
    marker = tmp_path / "ran"
    batch = _hostile_cifar(tmp_path / "d", marker, Payload(os.system, f"touch {marker}"))
    proc = subprocess.run([sys.executable, "-m", "deepgen_cli", "memorize", "--dataset", "cifar10", "--data-dir",
                           str(tmp_path / "d"), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"deepgen: error: --data-dir: '{batch}' is not a CIFAR-10 batch: it asks to load "
                           f"{os.system.__module__}.system; refused, nothing in it was run\n")
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_a_cifar_batch_that_would_open_a_file_is_refused(cli, tmp_path):
    marker = tmp_path / "written"
    batch = _hostile_cifar(tmp_path / "d", marker, Payload(open, str(marker), "w"))
    result = cli("memorize", "--dataset", "cifar10", "--data-dir", tmp_path / "d", "--quiet")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert f"'{batch}' is not a CIFAR-10 batch: it asks to load io.open; refused" in result.stderr
    assert not marker.exists()


def test_real_format_batches_still_train(cli, tmp_path, one_thread):
    write_cifar(tmp_path, per_batch=4, test=3)
    result = cli("memorize", "--dataset", "cifar10", "--data-dir", tmp_path, "--noise", "0", "--epochs", "1",
                 "--model", "mlp1x512", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["rows"][0]
    assert row["noise"] == 0.0 and 0.0 <= row["train_accuracy"] <= 1.0
    d = data.load(data.DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    assert d.x_train.shape == (20, 3, 32, 32) and d.y_test.tolist() == [9, 9, 9]


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])  # torch.save's two formats
def test_weights_that_would_run_a_command_are_refused(cli, tmp_path, zipped):
    marker = tmp_path / "ran"
    path = tmp_path / "w.pt"
    torch.save({"features.0.weight": Payload(os.system, f"touch {marker}")}, path,
               _use_new_zipfile_serialization=zipped)
    torch.load(path, weights_only=False)  # the payload works when loading is unrestricted
    assert marker.exists()
    marker.unlink()
    result = cli("efficiency", "--models", "squeezenet1_1@48", "--weights", path, "--quiet")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"deepgen: error: --weights: '{path}' is not a plain state_dict: it asks to load ")
    assert result.stderr.endswith("; refused, nothing in it was run\n") and result.stderr.count("\n") == 1
    assert not marker.exists()


@pytest.mark.parametrize("content, why", [
    ("not json", "not JSON (JSONDecodeError)"),
    ('{"schema": "deepgen.result/1", "command": "efficiency", "config": {}, "rows": {}}', "'rows' is not a list"),
    ('{"command": "efficiency", "config": {}, "rows": []}', "its schema is null, this deepgen reads deepgen.result/1"),
])
def test_resume_from_a_bad_record_is_a_usage_error(cli, tmp_path, content, why):
    out = tmp_path / "r.json"
    out.write_text(content)
    result = cli("efficiency", "--models", "squeezenet1_1@48", "--output", out, "--resume", "--quiet")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"deepgen: error: --resume: '{out}' is not a deepgen record: {why}; "
                             f"remove it or drop --resume\n")
    assert out.read_text() == content  # left as it was
