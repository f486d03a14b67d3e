"""Records read back (--resume now; report, compare and --config later): size and envelope checked before use."""

import json
import subprocess
import sys

import pytest

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.report import record
from deepgen_cli.report.record import Report, ResultsFile, read_record, to_json


def _report() -> Report:
    report = Report("memorize", {"noise": [0.0, 1.0], "lr": 0.01}, {"torch": "t"}, seed=3)
    report.add_row({"noise": 0.0, "train_accuracy": 1.0, "curve": [0.5, 1.0]})
    return report


def test_a_record_deepgen_wrote_reads_back_whole(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(to_json(_report()))
    got = read_record(path, "--config")
    assert got == json.loads(path.read_text())
    assert (got["command"], got["config"]["lr"], got["rows"][0]["curve"]) == ("memorize", 0.01, [0.5, 1.0])


def _envelope(**change) -> dict:
    out = json.loads(to_json(_report()))
    out.update(change)
    return {k: v for k, v in out.items() if v != "DROP"}


@pytest.mark.parametrize("content, why", [
    (b"{\"schema\": ", "not JSON (JSONDecodeError)"),
    (b"\xff\xfe{}", "not JSON (UnicodeDecodeError)"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON (RecursionError)"),
    (b"[]", "a JSON array, not an object"),
    (json.dumps(_envelope(schema="DROP")).encode(), "its schema is null, this deepgen reads deepgen.result/1"),
    (json.dumps(_envelope(schema="deepgen.result/2")).encode(), 'its schema is "deepgen.result/2", this deepgen'),
    (json.dumps(_envelope(command=["memorize"])).encode(), "'command' is not a string"),
    (json.dumps(_envelope(config="lr=0.01")).encode(), "'config' is not an object"),
    (json.dumps(_envelope(rows="DROP")).encode(), "'rows' is not a list"),
    (json.dumps(_envelope(rows=[{"noise": 0.0}, 7])).encode(), "row 1 is a JSON number, not an object"),
    (json.dumps(_envelope(findings={"claim": "c"})).encode(), "'findings' is not a list"),
    (json.dumps(_envelope(findings=["fits"])).encode(), "finding 0 is a JSON string, not an object"),
    (json.dumps(_envelope(findings=[{"claim": "c", "measured": "m"}])).encode(),
     "finding 0 lacks a string 'claim' and a 'reproduced' of true, false or null"),
    (json.dumps(_envelope(findings=[{"claim": "c", "reproduced": True, "basis": "hunch"}])).encode(),
     'finding 0 has basis "hunch", not one of measured, architecture, published'),
], ids=["cut", "utf16", "deep", "array", "no-schema", "schema-2", "command", "config", "rows", "row", "findings",
        "finding", "no-verdict", "basis"])
def test_a_bad_record_is_a_usage_error_naming_the_flag(tmp_path, content, why):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        read_record(path, "--config", advice="give the record of an earlier run")
    assert str(err.value).startswith(f"--config: '{path}' is not a deepgen record: {why}")
    assert str(err.value).endswith("; give the record of an earlier run") and "\n" not in str(err.value)


def test_the_size_cap_counts_bytes_before_parsing(tmp_path, monkeypatch):
    assert record.MAX_RECORD_BYTES == 256 * 2**20
    path = tmp_path / "r.json"
    text = to_json(_report()).encode()
    path.write_bytes(text)
    monkeypatch.setattr(record, "MAX_RECORD_BYTES", len(text))
    assert read_record(path, "--resume")["command"] == "memorize"  # exactly at the cap: read
    path.write_bytes(text + b" ")  # one byte over: refused, whatever it holds
    with pytest.raises(UsageError) as err:
        read_record(path, "--resume")
    assert f"is not a deepgen record: it holds more than {len(text):,} bytes" in str(err.value)


def test_no_file_and_a_folder_are_named(tmp_path):
    with pytest.raises(UsageError, match=f"--config: no file at '{tmp_path / 'none.json'}'"):
        read_record(tmp_path / "none.json", "--config")
    with pytest.raises(UsageError, match="--config: no file at"):
        read_record(tmp_path, "--config")


def test_resume_reads_through_the_same_checks(tmp_path):
    path = tmp_path / "r.json"
    report = _report()
    path.write_text(to_json(report))
    assert ResultsFile(path).previous_rows(report) == report.rows
    path.write_text(json.dumps(_envelope(rows=[[0.0, 1.0]])))
    with pytest.raises(UsageError) as err:
        ResultsFile(path).previous_rows(report)
    assert str(err.value) == (f"--resume: '{path}' is not a deepgen record: row 0 is a JSON array, not an object; "
                              f"remove it or drop --resume")
    (tmp_path / "fresh.json").unlink(missing_ok=True)
    assert ResultsFile(tmp_path / "fresh.json").previous_rows(report) == []  # nothing to resume yet


def test_the_record_module_imports_no_torch():
    code = "import sys, deepgen_cli.report.record; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "[]\n", proc.stdout + proc.stderr


def test_values_of_the_wrong_type_are_usage_errors_not_internal_ones(tmp_path, cli):
    """A record's values are checked against what uses them: a config field against its type (--config, report,
    --resume), a row value against its column (report)."""
    run = cli("memorize", "--noise", "0", "--epochs", "1", "--no-until-fit", "--quiet", "--output", tmp_path / "m.json")
    assert run.exit_code == 0
    good = json.loads((tmp_path / "m.json").read_text())
    bad_config = {**good, "config": {**good["config"], "epochs": "x"}}
    (tmp_path / "c.json").write_text(json.dumps(bad_config))
    bad_row = {**good, "rows": [{**good["rows"][0], "noise": "abc"}]}
    (tmp_path / "r.json").write_text(json.dumps(bad_row))
    for args, line in [
        (("memorize", "--config", tmp_path / "c.json"), f"--config: '{tmp_path / 'c.json'}' holds a bad value: "
                                                        f"--epochs: the record gives 'x', not int"),
        (("report", tmp_path / "c.json"), "--epochs: the record gives 'x', not int"),
        (("report", tmp_path / "r.json"), f"RECORD: '{tmp_path / 'r.json'}': row 0 holds \"abc\" as noise, not float"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and line in result.stderr, result.stderr


def _toy_config():
    from dataclasses import dataclass

    from deepgen_cli.engine.config import Options, opt, parse_list, show_list

    @dataclass(frozen=True, kw_only=True)
    class Toy(Options):
        n: int = opt("--n", type=int, help="")(3)
        x: float = opt("--x", type=float, help="")(1.0)
        maybe: float | None = opt("--maybe", type=float, optional=True, help="")(None)
        sizes: tuple[int, ...] = opt("--sizes", parse=parse_list(int, "1,2"), show=show_list, help="")((1,))
        flag: bool = opt("--flag", type=bool, help="")(False)
        fixed: int = 5  # no option: held against its default's type

    return Toy


@pytest.mark.parametrize("name, value, ok", [
    ("n", 3, True), ("n", 3.0, False), ("n", True, False), ("x", 3, True), ("maybe", None, True), ("x", None, False),
    ("sizes", [1, 2], True), ("sizes", [1, "a"], False), ("sizes", "1,2", True), ("sizes", 4, False),
    ("flag", 1, False), ("flag", False, True), ("fixed", 4, True), ("fixed", "a", False)])
def test_one_validator_reads_a_record_value_as_its_flag(name, value, ok):
    from deepgen_cli.engine.errors import UsageError
    from deepgen_cli.engine.recorded import from_record

    try:
        read = from_record(_toy_config(), {name: value})[name]
    except UsageError as err:
        assert not ok and str(err).startswith(f"--{name}:" if name != "fixed" else "fixed:"), err
    else:
        assert ok and read == (tuple(value) if name == "sizes" and isinstance(value, list) else
                               (1, 2) if value == "1,2" else value)
