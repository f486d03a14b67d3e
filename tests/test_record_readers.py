"""What `report` and `compare` say about records that render but deserve a word: rows holding no column of the
table, many records merged into fewer CSV rows, two compared records of different configs; compare refuses what
report refuses. An image folder with an empty class folder names the folder and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RECORDS = Path(__file__).resolve().parent.parent / "docs" / "records"


def _record(**change) -> dict:
    record = json.loads((RECORDS / "quickstart.json").read_text())
    record.update(change)
    return record


def _write(path: Path, record: dict) -> Path:
    path.write_text(json.dumps(record))
    return path


def test_rows_with_no_known_column_render_with_a_warning(cli, tmp_path):
    path = _write(tmp_path / "r.json", _record(rows=[{"colour": "red"}, {"size": 3}]))
    result = cli("report", path, "-f", "csv")
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == "colour,size"
    assert result.stderr.startswith("deepgen: warning: 2 of 2 rows hold none of the table's columns (model, ")
    assert result.stderr.endswith("and show blank; first: row 0\n")


def test_many_records_merged_into_one_csv_row_say_so(cli, tmp_path):
    paths = [_write(tmp_path / f"r{i}.json", _record()) for i in range(5)]  # the same two models five times
    result = cli("report", *paths, "-f", "csv")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1 + 2
    assert result.stderr.startswith("deepgen: warning: rows in more than one record, the later kept: model=")
    quiet = cli("report", paths[0], "-f", "csv")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_compare_notes_configs_that_differ(cli, tmp_path):
    a = _write(tmp_path / "a.json", _record())
    other = _record()
    other["config"] = {**other["config"], "batch_size": 8}
    b = _write(tmp_path / "b.json", other)
    result = cli("compare", a, b, "-f", "markdown")
    assert result.exit_code == 0
    assert ("- the records' configs differ (batch_size 1 in A, 8 in B): a change "
            "below may come from the settings, not from the machine or version") in result.stdout
    same = cli("compare", a, a, "-f", "markdown")
    assert "configs differ" not in same.stdout


@pytest.mark.parametrize("change, message", [
    (dict(notes=5), "'notes' is a JSON number, not a list of strings"),
    (dict(environment="x"), "'environment' is a JSON string, not an object"),
    (dict(analysis=[1, 2]), "'analysis' is a JSON array, not an object"),
])
def test_compare_refuses_what_report_refuses(cli, tmp_path, change, message):
    good = _write(tmp_path / "a.json", _record())
    bad = _write(tmp_path / "b.json", _record(**change))
    for args in (["report", bad], ["report", bad, "--plot", tmp_path / "p.png"], ["compare", good, bad]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == "", args
        assert f"'{bad}' is not a deepgen record: {message}" in result.stderr, args


def test_compare_refuses_a_cell_report_refuses(cli, tmp_path):
    good = _write(tmp_path / "a.json", _record())
    rows = _record()["rows"]
    rows[1]["latency_ms_median"] = "fast"
    bad = _write(tmp_path / "b.json", _record(rows=rows))
    for args, flag in ((["report", bad], "RECORD"), (["compare", good, bad], "B.json")):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith(f"deepgen: error: {flag}: '{bad}': row 1 holds \"fast\" as "
                                        f"latency_ms_median, not float")


def test_findings_without_measured_and_a_huge_integer_render(cli, tmp_path):
    record = _record()
    for f in record["findings"]:
        f.pop("measured", None)
    text = json.dumps(record).replace('"seed": 0,', '"seed": 0, "extra": ' + "9" * 5000 + ",", 1)
    path = tmp_path / "r.json"
    path.write_text(text)
    result = cli("report", path)
    assert result.exit_code == 0 and "Efficiency" in result.stdout, result.stderr


def test_an_empty_class_folder_names_the_folder_and_the_fix(tmp_path):
    from PIL import Image

    from deepgen_cli.engine.data.folder import scan
    from deepgen_cli.engine.errors import RunError

    for cls in ("cat", "dog"):
        (tmp_path / "train" / cls).mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "train" / "cat" / "1.png")
    with pytest.raises(RunError) as err:
        scan(tmp_path, "train")
    assert str(err.value).startswith(f"--data-dir: class folder '{tmp_path / 'train' / 'dog'}' holds no image (")
    assert str(err.value).endswith("add its images or remove the folder")
    (tmp_path / "val").mkdir()
    with pytest.raises(RunError, match="holds no class folders; put the images of each class in a sub-folder"):
        scan(tmp_path, "val")
