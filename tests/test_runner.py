"""What every subcommand shares: --resume, failed rows, SIGTERM/SIGINT, closed pipes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from deepgen_cli.engine.errors import RunError
from deepgen_cli.cli.options import Format
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.cli.options import SessionOptions
from deepgen_cli.cli.session import run

FAST = ("--min-time", "0.01", "--quiet", "--format", "json")


def test_resume_reuses_rows_of_the_same_config(cli, tmp_path):
    out = tmp_path / "r.json"
    first = json.loads(cli("efficiency", "--models", "squeezenet1_1@48", "-o", out, *FAST).stdout)
    again = json.loads(cli("efficiency", "--models", "squeezenet1_1@48,mobilenet:0.25@48", "-o", out, "--resume",
                           *FAST).stdout)
    assert again["rows"][0]["latency_samples_ms"] == first["rows"][0]["latency_samples_ms"]
    assert again["rows"][1]["model"] == "mobilenet:0.25@48"
    # another config: refused, the record left as it was (it once was rewritten with the new rows alone)
    before = out.read_bytes()
    other = cli("efficiency", "--models", "squeezenet1_1@48", "-o", out, "--resume", "--batch-size", 2, *FAST)
    assert other.exit_code == 2 and other.stdout == "" and out.read_bytes() == before
    assert other.stderr.startswith(f"deepgen: error: --resume: '{out}' holds 2 rows measured with another config "
                                   f"(batch_size 1 there, 2 here)")


def test_resume_needs_an_output_file(cli):
    result = cli("efficiency", "--models", "squeezenet1_1@48", "--resume", *FAST)
    assert result.exit_code == 2 and "--resume: needs --output" in result.stderr


def test_a_failed_row_keeps_the_others_and_exits_1(tmp_path, capsys):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Config:
        n: int = 3
        device: str = "cpu"
        seed: int = 0

    def engine(config, device, session):
        for i in range(config.n):
            session.row({"i": i, "error": "loss became NaN at epoch 2" if i == 1 else None})
        return Outcome()

    out = tmp_path / "r.json"
    with pytest.raises(RunError, match="1 of 3 rows failed; first: loss became NaN"):
        run("test", Config(), SessionOptions(format=Format.csv, output=str(out), quiet=True), engine, [], "t")
    record = json.loads(out.read_text())
    assert record["status"] == "complete" and [r["i"] for r in record["rows"]] == [0, 1, 2]
    assert capsys.readouterr().out.splitlines()[0] == "i,error"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_leaves_valid_json_with_finished_rows_and_exits_130(tmp_path, sig):
    out = tmp_path / "r.json"
    # memorize's rows finish one by one (efficiency's come together at the end of its interleaved timing, so a
    # signal sent on its first row can land after the run is over): 300 epochs of 200 images take seconds a row
    proc = subprocess.Popen([sys.executable, "-m", "deepgen_cli", "memorize", "--quiet", "--noise", "0,0.5,1",
                             "--subset", "200", "--epochs", "300", "--no-until-fit", "--repeats", "1", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 240  # generous: a loaded machine can take a minute to import torch
    while time.time() < deadline:
        if out.exists() and json.loads(out.read_text())["rows"]:
            break
        time.sleep(0.2)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    record = json.loads(out.read_text())
    assert record["status"] == "interrupted" and [r["noise"] for r in record["rows"]][:1] == [0.0]
    assert len(record["rows"]) < 3
    assert stdout == b"" and b"Traceback" not in stderr


def test_ctrl_c_while_starting_up_is_one_line_and_exit_130(monkeypatch, capsys):
    # Importing torch and the commands takes a second or more; a Ctrl-C there once ended in a traceback
    import builtins

    from deepgen_cli.cli import entry

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "deepgen_cli.cli.app":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stop:
            entry.main()
    finally:  # entry installs deepgen's handlers for the process: give pytest its own back
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert stop.value.code == 130 and capsys.readouterr().err == "deepgen: interrupted\n"


@pytest.mark.parametrize("fmt, first", [("csv", "model,"), ("table", "Efficiency")])
def test_stdout_closed_early_exits_quietly(fmt, first):
    # the table is printed by rich, whose own broken-pipe handler once made this exit 1 with nothing said
    shell = (f"{sys.executable} -m deepgen_cli efficiency --models squeezenet1_1@48,mobilenet:0.25@48 -q "
             f"--min-time 0.01 -f {fmt} | head -1")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith(first) and proc.stderr == ""


def test_an_internal_error_is_one_line_without_a_traceback(cli, monkeypatch):
    import deepgen_cli.engine.memorize.experiment as engine  # the engine module: the package forwards to it

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(engine, "load_data", broken)
    result = cli("memorize", "--quiet")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("deepgen: error: internal error: ValueError: boom (rerun with DEEPGEN_DEBUG=1")
    assert result.stderr.count("\n") == 1


def test_json_through_a_pipe_parses_with_progress_on(tmp_path):
    # not --quiet: the progress spinner and logs must stay on stderr, leaving stdout pure JSON
    shell = (f"{sys.executable} -m deepgen_cli memorize --noise 0,1 --subset 100 --epochs 2 --repeats 1 -f json -o {tmp_path}/m.json"
             f" | {sys.executable} -c 'import json,sys; r=json.load(sys.stdin); print(len(r[\"rows\"]), r[\"status\"])'")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2 complete\n"
    assert json.loads((tmp_path / "m.json").read_text())["rows"][1]["noise"] == 1.0
