"""`--output` that never clobbers: FIFOs, devices and /dev/stdout written through once and never replaced, no
temp files beside a device, a lock against a second run, and a failed record write as exit 1 with the rows on
stdout."""

import json
import os
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass

import pytest

from deepgen_cli.cli.options import Format, SessionOptions
from deepgen_cli.cli.session import run
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.report.record import ResultsFile


@dataclass(frozen=True)
class Config:
    n: int = 3
    device: str = "cpu"
    seed: int = 0


def rows_engine(after_row=None):
    """An engine reporting rows i = 0..n-1; `after_row(i)` runs after each."""

    def engine(config, device, session):
        for i in range(config.n):
            session.row({"i": i, "loss": 0.5 * i})
            if after_row is not None:
                after_row(i)
        return Outcome()

    return engine


def _run(output, engine=None, **kw):
    options = SessionOptions(format=Format.csv, output=str(output), quiet=True, **kw)
    return run("test", Config(), options, engine or rows_engine(), [], "t")


def test_a_fifo_gets_the_record_once_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    _run(fifo)
    reader.join(timeout=30)
    record = json.loads(got[0])  # one whole record: written once, at the end
    assert record["status"] == "complete" and [r["i"] for r in record["rows"]] == [0, 1, 2]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fifo"]  # no temp file, no lock file


def test_a_character_device_is_written_through_with_nothing_beside_it():
    before = set(os.listdir("/dev"))
    _run("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert set(os.listdir("/dev")) == before


def test_resume_from_a_device_is_a_usage_error():
    with pytest.raises(UsageError, match="--resume: '/dev/null' is not a regular file"):
        _run("/dev/null", resume=True)


def test_dev_stdout_gets_the_record_in_order_with_the_table(tmp_path):
    # stdout redirected to a file, as `deepgen ... -o /dev/stdout > out.txt` does: neither /dev/stdout nor the
    # file is replaced, and the record comes before the CSV rather than over it
    code = ("from tests.test_output import _run; _run('/dev/stdout')")
    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out.txt").read_text()
    record_text, csv_text = text.split("\n}\n", 1)
    assert json.loads(record_text + "\n}")["rows"][2] == {"i": 2, "loss": 1.0}
    assert csv_text == "i,loss\n0,0.0\n1,0.5\n2,1.0\n"
    assert os.path.islink("/dev/stdout")


def test_a_symlink_to_a_file_stays_a_symlink(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    _run(link)
    assert link.is_symlink() and json.loads(target.read_text())["rows"][0]["i"] == 0


def test_a_full_disk_is_exit_1_with_one_line_and_the_rows_on_stdout(capsys):
    # /dev/full fails every write with ENOSPC, as a full disk does
    with pytest.raises(RunError) as err:
        _run("/dev/full")
    message = str(err.value)
    assert message.startswith("--output: cannot write the record to '/dev/full' (No space left on device)")
    assert "\n" not in message and err.value.exit_code == 1
    assert capsys.readouterr().out == "i,loss\n0,0.0\n1,0.5\n2,1.0\n"


def test_a_folder_removed_mid_run_stops_it_with_the_rows_so_far_on_stdout(tmp_path, capsys):
    folder = tmp_path / "gone"
    folder.mkdir()
    out = folder / "r.json"
    measured = []

    def remove_the_folder(i):
        measured.append(i)
        if i == 0:
            for path in folder.iterdir():  # the record and the lock file
                path.unlink()
            folder.rmdir()

    with pytest.raises(RunError, match=r"cannot write the record to '.*r.json' \(No such file or directory\); "
                                       r"stopped after 2 rows"):
        _run(out, rows_engine(remove_the_folder))
    assert measured == [0]  # the run stopped at the row it could not save
    assert capsys.readouterr().out == "i,loss\n0,0.0\n1,0.5\n"


def test_a_second_run_on_the_same_output_is_refused_with_exit_2(tmp_path, cli):
    out = tmp_path / "r.json"
    first = ResultsFile(out)
    first.lock()  # a run in progress
    try:
        result = cli("memorize", "--noise", "0", "--subset", "64", "--epochs", "1", "-q", "-o", out)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith(f"deepgen: error: --output: another deepgen run is writing '{out}' "
                                        f"(process {os.getpid()} holds")
        assert not out.exists()
    finally:
        first.unlock()
    _run(out)  # the lock is gone with the run that held it
    assert json.loads(out.read_text())["status"] == "complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
