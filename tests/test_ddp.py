"""Data parallel under torchrun, two gloo ranks on the CPU: the weights of one process at the same global batch,
rank 0 alone printing and writing, and a signal that stops every rank with the finished rows saved."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from deepgen_cli.engine import distributed

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
LAUNCH_TIMEOUT_S = 300  # three interpreters importing torch on 2 shared cores; about 20 s when the cores are idle


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            "TORCH_ELASTIC_SHUTDOWN_TIMEOUT": "60"}  # ranks get 60 s to stop before torchrun kills them


def test_two_ranks_train_the_weights_of_one_process(tmp_path):
    sys.path.insert(0, str(TESTS))
    import ddp_train

    out = tmp_path / "w.pt"
    run = subprocess.run([*TORCHRUN, str(TESTS / "ddp_train.py"), str(out)], env=env(), cwd=tmp_path,
                         capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)
    assert run.returncode == 0, run.stderr[-2000:]
    saved = torch.load(out)
    assert saved["world_size"] == 2
    model, initial = ddp_train.trained()  # one process, the same global batches
    for name, w in model.state_dict().items():
        moved = (w - initial[name]).abs().max().item()
        apart = (w - saved["state"][name]).abs().max().item()
        # 10 steps move each tensor by 0.01-0.2; the ranks' result differs only in float summation order
        # (measured 3e-8). Ranks that averaged their unequal shares (32 and 31) unweighted land 1e-4-4e-4 away.
        assert moved > 1e-2 and apart < 1e-6, (name, moved, apart)


def test_memorize_streamed_under_torchrun_rank_0_prints_and_writes(tmp_path, cli, one_thread):
    args = ["memorize", "--noise", "1", "--subset", "120", "--epochs", "3", "--no-until-fit", "--quiet"]
    # each rank streams its shards through a DataLoader worker; compared below with one process in memory
    streamed = ["--data-in-memory", "no", "--workers", "1"]
    run = subprocess.run([*TORCHRUN, "-m", "deepgen_cli", *args, *streamed, "--format", "json", "--output",
                          tmp_path / "d.json"],
                         env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads(run.stdout)  # one record: rank 1 printed nothing
    assert record == json.loads((tmp_path / "d.json").read_text())
    assert record["environment"]["world_size"] == 2 and record["environment"]["backend"] == "gloo"
    single = json.loads(cli(*args, "--format", "json").stdout)
    assert single["environment"]["world_size"] == 1 and single["environment"]["backend"] is None
    (two,), (one,) = record["rows"], single["rows"]
    for key in ("train_accuracy", "test_accuracy", "changed_fraction", "test_examples"):
        assert two[key] == one[key], key  # counts over all ranks: the same examples right
    # the same batches and the same standardized images (statistics of all 120): equal up to float rounding
    for a, b in zip(two["curve"], one["curve"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    assert two["test_loss"] == pytest.approx(one["test_loss"], rel=1e-5)
    assert "streamed" in record["notes"][-1] and "streamed" not in " ".join(single["notes"])


def test_norm_compare_under_torchrun_trains_the_batch_norm_rows_of_one_process(tmp_path, cli, one_thread):
    # Each rank's 8 examples of every 16 hold whole microbatches of 4 and 8: the same microbatches, so the
    # same batch statistics and gradients as one process. Only the moving averages differ (rank 0's
    # microbatches alone, broadcast by DDP), so the eval-mode accuracy is not compared.
    args = ["norm-compare", "--norms", "batch", "--microbatch", "4,8", "--batch-size", "16", "--non-iid", "2",
            "--epochs", "2", "--subset", "160", "--repeats", "1", "--quiet", "--format", "json"]
    run = subprocess.run([*TORCHRUN, "-m", "deepgen_cli", *args], env=env(), cwd=tmp_path, capture_output=True,
                         text=True, timeout=LAUNCH_TIMEOUT_S)
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads(run.stdout)
    assert record["environment"]["world_size"] == 2
    single = json.loads(cli(*args).stdout)
    key = lambda r: (r["microbatch"], r["sampling"])  # noqa: E731
    two, one = sorted(record["rows"], key=key), sorted(single["rows"], key=key)
    assert [key(r) for r in two] == [(4, "iid"), (4, "non-iid"), (8, "iid"), (8, "non-iid")]
    for a, b in zip(two, one):
        assert a["train_accuracy"] == b["train_accuracy"], key(a)
        for ea, eb in zip(a["epochs"], b["epochs"]):
            assert ea["train_loss"] == pytest.approx(eb["train_loss"], rel=1e-5), key(a)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_rank_and_rank_0_saves_its_rows(tmp_path, sig):
    out = tmp_path / "d.json"
    levels = ",".join(f"{p / 20:g}" for p in range(21))  # far more rows than the run lives for
    proc = subprocess.Popen([*TORCHRUN, str(TESTS / "rank_exit.py"), str(tmp_path), "memorize", "--noise", levels,
                             "--subset", "100", "--epochs", "2", "--no-until-fit", "--quiet", "--output", str(out)],
                            env=env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        while not (out.exists() and json.loads(out.read_text())["rows"]):
            assert proc.poll() is None and time.monotonic() < deadline, "no row was written"
            time.sleep(0.2)
        proc.send_signal(sig)  # to torchrun alone, as a scheduler would: it passes the signal on to each rank
        proc.communicate(timeout=LAUNCH_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["returncode"] for r in ranks] == [130, 130]
    for r in ranks:
        with pytest.raises(ProcessLookupError):
            os.kill(r["pid"], 0)  # gone, and reaped
    record = json.loads(out.read_text())
    assert record["status"] == "interrupted" and 1 <= len(record["rows"]) < 21
    assert record["rows"][0]["noise"] == 0.0 and record["environment"]["world_size"] == 2


def test_without_torchrun_there_is_no_world(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched() and distributed.current() is None
    assert distributed.describe(None) == {"world_size": 1, "backend": None}
    with pytest.raises(Exception, match="torchrun"):
        distributed.start(torch.device("cpu"))


def test_shards_split_each_batch_and_weight_the_shares():
    world = distributed.World(rank=1, local_rank=1, size=2, backend="gloo")
    batches = [torch.arange(0, 63), torch.arange(63, 126), torch.tensor([126])]
    parts = distributed.shards(batches, world)
    # the lone last example joins the batch before it (64 examples): rank 1 takes the second 32
    assert [p.tolist()[:2] for p, _ in parts] == [[32, 33], [95, 96]]
    assert [len(p) for p, _ in parts] == [31, 32] and [s for _, s in parts] == [31 * 2 / 63, 1.0]
    assert distributed.span(7, world) == range(3, 7)
    with pytest.raises(Exception, match="--batch-size"):
        distributed.shards([torch.tensor([0])], world)


@pytest.mark.parametrize("command", ["efficiency", "probe"])
def test_commands_that_do_not_train_data_parallel_refuse_torchrun(cli, monkeypatch, command):
    for k, v in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(k, v)
    result = cli(command, "--device", "cpu", "--quiet")  # refused before joining any process group
    assert result.exit_code == 2 and result.stdout == "" and distributed.current() is None
    assert result.stderr == (f"deepgen: error: deepgen {command} does not train data-parallel; run it without "
                             f"torchrun (under torchrun: memorize, norm-compare, reuse)\n")
