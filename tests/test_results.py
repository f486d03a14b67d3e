"""The result record: atomic results file, NaN-free JSON, CSV of scalars, and the engine boundary."""

import json
import subprocess
import sys

from deepgen_cli.engine.outcome import Finding
from deepgen_cli.report.export import render
from deepgen_cli.report.page import record_page
from deepgen_cli.report.record import Report, ResultsFile, to_json


def test_results_file_is_rewritten_after_every_row(tmp_path):
    path = tmp_path / "out.json"
    report = Report("x", {"a": 1}, {"torch": "t"}, seed=5)
    sink = ResultsFile(path)
    for i in range(3):
        report.add_row({"i": i, "loss": float("nan") if i == 2 else 0.5, "curve": [1, 2]})
        sink.write(report)
        assert [r["i"] for r in json.loads(path.read_text())["rows"]] == list(range(i + 1))
    assert json.loads(path.read_text())["rows"][2]["loss"] is None  # NaN is not JSON
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind


def test_csv_keeps_scalars_and_json_keeps_findings():
    report = Report("x", {}, {})
    report.add_row({"model": "a", "params": 3, "samples": [1.0, 2.0]})
    report.findings.append(Finding("claim", "measured 1", True, "measured").to_dict())
    assert render(record_page(report, [], "x"), "csv") == "model,params\na,3\n"
    assert json.loads(to_json(report))["findings"] == [{"claim": "claim", "measured": "measured 1", "reproduced": True,
                                                         "basis": "measured", "reason": "", "fragile": False}]


def test_engine_does_not_import_typer_or_rich():
    code = ("import sys, deepgen_cli.engine.efficiency, deepgen_cli.engine.efficiency.findings, "
            "deepgen_cli.engine.reuse, deepgen_cli.engine.registry, deepgen_cli.engine.models; "
            "bad = [m for m in ('typer', 'rich', 'click') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "deepgen_cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("deepgen ")
