"""`deepgen report`: records re-rendered exactly as their run rendered them, merged by the --resume key, refused
when their schema is not this version's, and as one self-contained HTML page."""

import json

import pytest

from deepgen_cli.cli import spec

# One tiny run of every experiment command (a few seconds each on a busy core): its spec's smoke-test arguments.
RUNS = {s.name: s.smoke for s in spec.every()}


@pytest.mark.parametrize("command", list(RUNS))
def test_report_renders_every_format_as_the_run_did(cli, tmp_path, command):
    rec = tmp_path / "r.json"
    run = cli(command, *RUNS[command], "-q", "-o", rec, "-f", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == rec.read_text()  # what the run printed is its record
    again = cli("report", rec, "-f", "json")
    assert again.exit_code == 0 and again.stdout == run.stdout
    for fmt in ("table", "csv", "markdown"):
        # the same config with --resume reuses every row (reuse reruns them), so this run's output is the original's
        original = cli(command, *RUNS[command], "-q", "-o", rec, "--resume", "-f", fmt)
        assert original.exit_code == 0, original.stderr
        rendered = cli("report", rec, "-f", fmt)
        assert rendered.exit_code == 0, rendered.stderr
        assert rendered.stdout == original.stdout, fmt
        assert rendered.stdout.count("\n") >= len(json.loads(rec.read_text())["rows"])


def _memorize_record(path, noise, test_accuracy, seed=0, reproduced=True, basis=None):
    finding = {"claim": f"claim at {noise}", "measured": f"test accuracy {test_accuracy}", "reproduced": reproduced}
    if basis:
        finding["basis"] = basis
    rows = [{"model": "mlp1x512", "seed": seed, "corruption": "labels", "regularizer": "none", "noise": p,
             "test_accuracy": a,
             "train_accuracy": 1.0, "test_examples": 450, "train_examples": 1347, "num_classes": 10, "curve": []}
            for p, a in zip(noise, test_accuracy)]
    path.write_text(json.dumps({
        "schema": "deepgen.result/1", "command": "memorize", "deepgen_version": "0.1.0", "time_utc": "t",
        "status": "complete", "seed": seed, "config": {"noise": list(noise), "seed": seed}, "environment": {},
        "rows": rows, "findings": [finding], "notes": [], "analysis": {}}))
    return path


def test_records_of_one_command_merge_by_the_resume_key(cli, tmp_path):
    a = _memorize_record(tmp_path / "a.json", (0.0, 0.5), (0.97, 0.70))
    b = _memorize_record(tmp_path / "b.json", (0.5, 1.0), (0.66, 0.12))  # p=0.5 again: b's row is kept
    result = cli("report", a, b, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(",")[4:6] for line in lines[1:]] == [["0.0", "0.97"], ["0.5", "0.66"], ["1.0", "0.12"]]
    md = cli("report", a, b, "-f", "markdown").stdout
    assert "claim at (0.0, 0.5): test accuracy (0.97, 0.7)" in md and "claim at (0.5, 1.0)" in md
    assert "rows in more than one record, the later kept: corruption=labels, regularizer=none, noise=0.5, seed=0 from" in md
    assert "configs differ in noise" not in md  # noise is what a memorize sweep varies


def test_records_of_different_commands_do_not_merge(cli, tmp_path):
    a = _memorize_record(tmp_path / "a.json", (0.0,), (0.97,))
    b = json.loads(a.read_text())
    b["command"] = "norm-compare"
    (tmp_path / "b.json").write_text(json.dumps(b))
    result = cli("report", a, tmp_path / "b.json")
    assert result.exit_code == 2 and "merge records of one command" in result.stderr


@pytest.mark.parametrize("schema", ["deepgen.result/0", "deepgen.result/2"])
def test_a_record_of_another_schema_version_is_refused_naming_it(cli, tmp_path, schema):
    path = _memorize_record(tmp_path / "a.json", (0.0,), (0.97,))
    record = json.loads(path.read_text())
    record["schema"] = schema
    path.write_text(json.dumps(record))
    result = cli("report", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert f'its schema is "{schema}", this deepgen reads deepgen.result/1' in result.stderr


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_a_hand_edited_cell_is_a_usage_error_naming_it_with_nothing_on_stdout(cli, tmp_path, fmt):
    path = _memorize_record(tmp_path / "a.json", (0.0, 1.0), (0.97, 0.12))
    record = json.loads(path.read_text())
    record["rows"][1]["test_accuracy"] = "high"
    path.write_text(json.dumps(record))
    result = cli("report", path, "-f", fmt)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"deepgen: error: RECORD: '{path}': row 1 holds \"high\" as test_accuracy, not float; "
                             f"give records as deepgen wrote them\n")


def test_html_is_one_self_contained_page_with_basis_and_plot(cli, tmp_path):
    path = _memorize_record(tmp_path / "a.json", (0.0, 1.0), (0.97, 0.12), basis="measured")
    result = cli("report", path, "-f", "html")
    assert result.exit_code == 0, result.stderr
    page = result.stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<td class=\"num\">97.0%</td>" in page and "<td class=\"num\">12.0%</td>" in page
    assert "basis: measured" in page and "claim reproduced: yes" in page
    assert page.count('src="data:image/png;base64,') == 1  # memorize's own plot, embedded
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_the_record_keeps_its_command_line_and_the_html_page_shows_it_with_the_config(cli, tmp_path):
    from html import escape
    from shlex import join

    rec = tmp_path / "r.json"
    args = ["memorize", *map(str, RUNS["memorize"]), "-q", "-o", str(rec), "-f", "json"]
    assert cli(*args).exit_code == 0
    record = json.loads(rec.read_text())
    assert record["environment"]["argv"] == args  # as given, not the test runner's own sys.argv
    page = cli("report", rec, "-f", "html").stdout
    assert f"command: <code>{escape('deepgen ' + join(args))}</code>" in page
    assert f"<td>model</td><td>{record['config']['model']}</td>" in page
    assert page.split("<body>", 1)[1].count("deepgen memorize: ") == 1  # the title, in the <h1> alone


def test_report_plot_is_the_runs_own_plot_byte_for_byte(cli, tmp_path):
    rec = tmp_path / "r.json"
    run = cli("memorize", *RUNS["memorize"], "-q", "-o", rec, "--plot", tmp_path / "run.png", "-f", "csv")
    assert run.exit_code == 0, run.stderr
    result = cli("report", rec, "--plot", tmp_path / "report.png", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    drawn = (tmp_path / "report.png").read_bytes()
    assert drawn[:8] == b"\x89PNG\r\n\x1a\n" and drawn == (tmp_path / "run.png").read_bytes()


class _Asked(Exception):
    pass


class _KeyRecorder:
    """Stops an engine at its first --resume lookup and keeps the key it asked for."""

    def __init__(self):
        self.key = None

    def resumed(self, **key):
        self.key = tuple(key)
        raise _Asked

    def row(self, row):
        pass

    def plan(self, total):
        pass

    def progress(self, message):
        pass

    def log(self, message):
        pass


@pytest.mark.parametrize("command", list(RUNS))
def test_report_keys_rows_as_each_engine_keys_resume(command, one_thread):
    import torch

    kind = spec.get(command)
    config = kind.record_config({"subset": 64, "cka_examples": 0, "models": ["squeezenet1_1@48"], "device": "cpu"})
    session = _KeyRecorder()
    with pytest.raises(_Asked):
        kind.engine(config.resolved(), torch.device("cpu"), session)
    assert session.key == kind.key(config)
