"""Signals really delivered to a deepgen process (README, Exit codes: 130 and the `--output` file holds every
finished row): SIGINT once or three times 20 ms apart, and SIGTERM, at start-up, mid-row and during the final write,
end with exit 130 and one line (rows saved, where, the --resume command), no traceback, the record not left
"running"; SIGKILL mid-run leaves a valid record that --resume continues; a second run on one --output is refused
and neither loses a row. tests/signal_child.py is the deepgen script with a 50 ms toy engine for memorize."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = str(Path(__file__).with_name("signal_child.py"))
ROOT = str(Path(__file__).resolve().parent.parent)


def _env():
    return {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}


def _child(mode: str, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, CHILD, mode, "memorize", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), **kwargs)


def _rows(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return []


def _catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler for `sig` (Linux: /proc/PID/status SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    return stderr.strip()


def _expect_line(stderr: str, rows: int, out: Path, args) -> None:
    again = shlex.join(["memorize", *map(str, args), "--resume"])
    assert _one_line(stderr) == f"deepgen: interrupted: {rows} rows saved in {out}; continue with: deepgen {again}"


@pytest.mark.parametrize("mode, sig", [("row", "SIGINT x3"),
                                       pytest.param("term-row", "SIGTERM", marks=pytest.mark.slow)])
def test_a_signal_mid_row_is_exit_130_one_line_and_the_record_interrupted(tmp_path, mode, sig):
    out = tmp_path / "s05.json"
    args = ["--noise", "0,0.5,1", "-o", out, "-q"]
    proc = _child(mode, *args)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr
    _expect_line(stderr, 1, out, args)
    record = json.loads(out.read_text())
    assert record["status"] == "interrupted" and [r["noise"] for r in record["rows"]] == [0.0]
    assert stdout == ""
    # the line's command continues it: the saved row is reused, the two others measured
    again = _child("none", *args, "--resume", "-f", "json")
    stdout, stderr = again.communicate(timeout=240)
    assert again.returncode == 0, stderr
    rows = json.loads(stdout)["rows"]
    assert [(r["noise"], bool(r.get("reused"))) for r in rows] == [(0.0, True), (0.5, False), (1.0, False)]


def test_three_ctrl_c_during_the_final_write_leave_the_record_whole(tmp_path):
    out = tmp_path / "r.json"
    args = ["--noise", "0,1", "-o", out, "-q"]
    proc = _child("write", *args)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr
    _expect_line(stderr, 2, out, args)
    record = json.loads(out.read_text())  # the write the signals came in landed whole: the run had finished
    assert record["status"] == "complete" and len(record["rows"]) == 2
    assert not list(tmp_path.glob(".deepgen-*.tmp")) and not (tmp_path / ".r.json.lock").exists()


def test_sigterm_while_starting_up_is_exit_130_and_one_line(tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("reads /proc to see when the handler is in place")
    proc = _child("none", "--noise", "0", "-o", tmp_path / "r.json", "-q")
    deadline = time.time() + 30
    while not _catches(proc.pid, signal.SIGTERM) and time.time() < deadline:
        time.sleep(0.005)  # the interpreter's own start (before any deepgen code) has no handler to catch it
    proc.send_signal(signal.SIGTERM)  # torch and the commands are still being imported
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130 and _one_line(stderr).startswith("deepgen: interrupted")
    assert stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("sig, times", [(signal.SIGINT, 1), (signal.SIGINT, 3), (signal.SIGTERM, 1)])
def test_signals_from_outside_mid_row(tmp_path, sig, times):
    out = tmp_path / "r.json"
    args = ["--noise", "0,0.5,1", "-o", out, "-q"]
    proc = _child("slow", *args)
    deadline = time.time() + 240
    while not _rows(out) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # mid-row: a row takes 1 s
    for _ in range(times):
        proc.send_signal(sig)
        time.sleep(0.02)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    _expect_line(stderr, 1, out, args)
    assert json.loads(out.read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_record_resume_continues(tmp_path):
    out = tmp_path / "r.json"
    args = ["--noise", "0,0.5,1", "-o", out, "-q"]
    proc = _child("slow", *args)
    deadline = time.time() + 240
    while not _rows(out) and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    record = json.loads(out.read_text())  # every write is a rename: the file is a whole record
    assert record["status"] == "running" and [r["noise"] for r in record["rows"]] == [0.0]
    again = _child("none", *args, "--resume", "-f", "json")
    stdout, stderr = again.communicate(timeout=240)
    assert again.returncode == 0, stderr
    assert [(r["noise"], bool(r.get("reused"))) for r in json.loads(stdout)["rows"]] == \
        [(0.0, True), (0.5, False), (1.0, False)]


@pytest.mark.slow
def test_two_runs_on_one_output_the_second_refused_and_no_row_lost(tmp_path):
    out = tmp_path / "r.json"
    first = _child("crawl", "--noise", "0,0.5,1", "-o", out, "-q")  # 18 s: the second starts (imports torch) meanwhile
    deadline = time.time() + 240
    while not _rows(out) and time.time() < deadline:
        time.sleep(0.05)
    second = _child("none", "--noise", "0,1", "-o", out, "-q")
    _, err2 = second.communicate(timeout=240)
    assert second.returncode == 2 and f"--output: another deepgen run is writing '{out}'" in err2
    _, err1 = first.communicate(timeout=240)
    assert first.returncode == 0, err1
    record = json.loads(out.read_text())
    assert record["status"] == "complete" and [r["noise"] for r in record["rows"]] == [0.0, 0.5, 1.0]
