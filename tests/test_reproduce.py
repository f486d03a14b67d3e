"""`deepgen reproduce`: every command's default experiment, one record each, one table of claims; --quick in
under a minute of CPU, interruptible and resumable."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from deepgen_cli.cli import spec
from deepgen_cli.cli.suite import prepared
from deepgen_cli.report.claims import claim_rows, paper_of
from deepgen_cli.report.saved import to_report


@pytest.mark.parametrize("command, claim, paper", [
    ("efficiency", "0.50 MobileNet-160 needs 22x fewer Mult-Adds than SqueezeNet (Howard et al. 2017, Table 8)",
     "Howard et al. 2017"),
    ("probe", "Linear probe error decreases monotonically with depth (Alain & Bengio 2016)", "Alain & Bengio 2016"),
    ("norm-compare", "Batch renorm trains at the speed of batch norm (Ioffe 2017)", "Ioffe 2017"),
    ("memorize", "mlp1x512 fits random labels (train accuracy >= 99.9%)", "Zhang et al. 2017"),
    ("efficiency", "Measured Mult-Adds equal the published counts", "Howard et al. 2017; Iandola et al. 2016"),
])
def test_the_paper_is_the_one_the_claim_cites_else_the_commands(command, claim, paper):
    assert paper_of(spec.get(command).papers, claim) == paper


@pytest.mark.parametrize("quick", [False, True])
def test_every_experiment_is_a_command_whose_config_takes_its_settings(quick):
    assert [s.name for s in spec.every()] == ["efficiency", "memorize", "probe", "norm-compare", "reuse",
                                              "norm-depth", "probe-transfer", "width-reg", "compress", "downsample",
                                              "drop-blocks"]
    assert spec.get("norm-compare").settings(quick) == ({"microbatch": (4, 32), "epochs": 2, "subset": 500}
                                                         if quick else {})
    for s in spec.every():
        name = s.name
        config, derived = prepared(s, s.settings(quick))
        for field, value in s.settings(quick).items():
            assert getattr(config, field) == value
        # what the records will name as derived, for --config to derive again
        assert ("noise" in derived) == (name == "memorize") and ("snapshots" in derived) == (name == "probe")


def test_claim_rows_carry_the_basis_when_the_record_has_one():
    report = to_report({"schema": "deepgen.result/1", "command": "memorize", "config": {}, "rows": [],
                        "findings": [{"claim": "fits", "measured": "100%", "reproduced": True, "basis": "measured"},
                                     {"claim": "c (Ioffe 2017)", "measured": "m", "reproduced": False}]})
    assert report.findings[0] == {"claim": "fits", "measured": "100%", "reproduced": True, "basis": "measured"}
    assert claim_rows("memorize", report, spec.get("memorize").papers) == [
        {"command": "memorize", "paper": "Zhang et al. 2017", "claim": "fits", "basis": "measured",
         "measured": "100%", "verdict": "yes", "reproduced": True, "reason": "", "fragile": False},
        {"command": "memorize", "paper": "Ioffe 2017", "claim": "c (Ioffe 2017)", "basis": "", "measured": "m",
         "verdict": "no", "reproduced": False, "reason": "", "fragile": False}]


def _reproduce(out_dir, *extra, **kw):
    return subprocess.Popen([sys.executable, "-m", "deepgen_cli", "reproduce", "--quick", "-O", str(out_dir),
                             "-f", "markdown", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_quick_reproduce_takes_under_a_minute_of_cpu_and_resumes_after_an_interrupt(tmp_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = _reproduce(tmp_path)
    stdout, stderr = proc.communicate(timeout=600)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = used.ru_utime + used.ru_stime - before.ru_utime - before.ru_stime
    assert proc.returncode == 0, stderr[-2000:]
    # CPU seconds, not wall: the work is one thread, so on idle cores they are the wall time; on shared ones the
    # wall time also counts waiting for other processes
    assert cpu_s < 60, cpu_s
    lines = stdout.splitlines()
    assert lines[0] == "| paper | claim | basis | measured | verdict |"
    records = {s.name: json.loads((tmp_path / f"{s.name}.json").read_text()) for s in spec.every()}
    assert all(r["status"] == "complete" for r in records.values())
    table = [line for line in lines if line.startswith("| ")]
    found = [f for r in records.values() for f in r["findings"]]
    assert len(table) - 2 == len(found)
    words = [{True: "yes", False: "no", None: "cannot tell"}[f["reproduced"]] for f in found]
    assert lines[len(table) + 1] == (f"{len(found)} claims: {words.count('yes')} yes, {words.count('no')} no, "
                                     f"{words.count('cannot tell')} cannot tell")
    assert any("| Zhang et al. 2017 | mlp1x512 fits random labels" in line for line in lines)

    # interrupted in its first experiment, then resumed: the rows saved before the interrupt are reused
    again = tmp_path / "again"
    proc = _reproduce(again)
    deadline = time.time() + 300
    while time.time() < deadline:
        path = again / "efficiency.json"
        if path.exists() and json.loads(path.read_text())["rows"]:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr
    saved = json.loads((again / "efficiency.json").read_text())
    assert saved["status"] == "interrupted" and saved["rows"]
    resumed = _reproduce(again, "--resume")
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr[-2000:]
    done = json.loads((again / "efficiency.json").read_text())
    assert done["status"] == "complete"
    assert done["rows"][0]["latency_samples_ms"] == saved["rows"][0]["latency_samples_ms"]


@pytest.mark.slow
def test_reproduce_controls_quick_passes_and_no_control_says_yes(tmp_path):
    # every claim's negative controls on --quick's settings (docs/reproduce.md): exit 0, and in no control's record
    # does a claim it controls come out yes, whether or not the default run judged that claim
    proc = subprocess.run([sys.executable, "-m", "deepgen_cli", "reproduce", "--controls", "--quick", "-q",
                           "-O", str(tmp_path), "-f", "json"], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout)  # one row per claim and control of it
    controlled = [r for r in rows if r["control"] != "-"]
    assert controlled and all(r["control_verdict"] != "yes" for r in controlled)
    judged, total = 0, 0
    for s in spec.every():
        for i, control in enumerate(s.negative_controls(), 1):
            record = json.loads((tmp_path / f"{s.name}.control-{i}.json").read_text())
            assert record["status"] == "complete", (s.name, control.label)
            mine = [f for f in record["findings"] if f["claim"].startswith(control.claims)]
            assert all(f["reproduced"] is not True for f in mine), (control.label, mine)
            assert all(f["reason"] for f in mine if f["reproduced"] is None)
            judged, total = judged + bool(mine), total + 1
    assert judged == total  # a control that judges none of its claims proves nothing
