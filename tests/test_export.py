"""One exporter per format over a record's dict: the registry, the Markdown escaper, the three outcomes (yes, no,
'?' with its reason) and fragile verdicts in every format, HTML's basis marks, reproduce's count line, and records
written before 'cannot tell' existed rendering as they did."""

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from deepgen_cli.cli.options import Format, PageFormat
from deepgen_cli.report import export
from deepgen_cli.report.claims import claims_page
from deepgen_cli.report.compare_view import compare_page
from deepgen_cli.report.findings import FRAGILE_LEGEND, LEGEND, UNSURE_LEGEND, count_line
from deepgen_cli.report.page import record_page, record_section
from deepgen_cli.report.record import Report, to_json
from deepgen_cli.report.saved import to_report
from deepgen_cli.report.table import Column, percent

COLUMNS = [Column("model", "model", numeric=False), Column("acc", "acc", percent)]
WHY = "the 95% interval is wider than the 5-point margin"
UNSURE = {"claim": "does not hurt", "measured": "+3 ± 9 points", "reproduced": None, "basis": "measured",
          "reason": WHY, "fragile": False}
FRAGILE = {"claim": "fits", "measured": "p = 0.049", "reproduced": True, "basis": "measured", "reason": "",
           "fragile": True}


def _report(*findings, rows=({"model": "a", "acc": 0.5},)) -> Report:
    report = Report("memorize", {}, {"device": "cpu"}, seed=0, rows=[dict(r) for r in rows])
    report.findings = [dict(f) for f in findings]
    report.status = "complete"
    return report


def test_one_exporter_per_format_in_one_registry():
    assert set(export.EXPORTERS) == {"table", "markdown", "csv", "json", "html"}
    assert {f.value for f in Format} | {f.value for f in PageFormat} == set(export.EXPORTERS)
    with pytest.raises(ValueError, match="a second exporter for format 'csv'"):
        export.exporter("csv")(lambda page, out: None)
    with pytest.raises(ValueError, match="no exporter for format 'xml'"):
        export.get("xml")


def test_a_pipe_in_a_markdown_cell_is_escaped_so_the_row_keeps_its_cells():
    assert export.md_cell("a|b\nc") == "a\\|b c"
    report = _report(rows=[{"model": "mobilenet|conv", "acc": 0.25}])
    table = export.render(record_page(report, COLUMNS, "t"), "markdown").splitlines()
    assert table == ["| model | acc |", "| --- | ---: |", "| mobilenet\\|conv | 25.0% |"]
    # the same escaper serves every Markdown table: reproduce's claims and compare's changes
    claims = export.render(claims_page([("memorize", _report({**FRAGILE, "claim": "x | y"}), "Zhang et al. 2017")], "t"), "markdown")
    assert "| Zhang et al. 2017 | x \\| y | measured | p = 0.049 | yes (fragile) |" in claims


def test_cannot_tell_is_a_question_mark_with_its_reason_and_a_legend_in_every_format():
    page = record_page(_report(UNSURE), COLUMNS, "Memorization")
    table = export.render(page, "table")
    assert f"? does not hurt: +3 ± 9 points (claim reproduced: cannot tell ({WHY}))" in table
    assert f"  legend: {UNSURE_LEGEND}" in table and LEGEND not in table  # only measured findings: no basis legend
    md = export.render(page, "markdown").splitlines()
    assert md[3:] == ["", f"- ? does not hurt: +3 ± 9 points (**claim reproduced: cannot tell ({WHY})**)",
                      f"- legend: {UNSURE_LEGEND}"]
    finding = json.loads(export.render(page, "json"))["findings"][0]
    assert finding["reproduced"] is None and finding["reason"] == WHY
    html = export.render(page, "html")
    assert (f'<li><span class="unsure">?</span> does not hurt: +3 ± 9 points (<b class="unsure">claim reproduced: '
            f"cannot tell ({WHY})</b>)") in html
    assert "legend: ? cannot tell:" in html
    # reproduce's claims: '?' and the reason in the table; CSV and JSON keep null and the reason apart
    claims = claims_page([("memorize", _report(UNSURE))], "deepgen reproduce")
    assert f"| ? ({WHY}) |" in export.render(claims, "markdown")
    (row,) = csv.DictReader(io.StringIO(export.render(claims, "csv")))
    assert (row["verdict"], row["reproduced"], row["reason"]) == ("?", "", WHY)
    (row,) = json.loads(export.render(claims, "json"))
    assert (row["verdict"], row["reproduced"], row["reason"]) == ("?", None, WHY)


def test_a_fragile_verdict_is_marked_with_a_legend():
    md = export.render(record_page(_report(FRAGILE), COLUMNS, "t"), "markdown")
    assert "- ✓ fits: p = 0.049 (**claim reproduced: yes (fragile)**)" in md and f"- legend: {FRAGILE_LEGEND}" in md
    assert "fragile" not in export.render(record_page(_report({**FRAGILE, "fragile": False}), COLUMNS, "t"),
                                          "markdown")


def test_html_shows_the_basis_marks_and_their_legend():
    report = _report({"claim": "counted", "measured": "0.8M", "reproduced": True, "basis": "architecture"},
                     {"claim": "cited", "measured": "77%", "reproduced": False, "basis": "published"},
                     {"claim": "ran", "measured": "1 ms", "reproduced": False, "basis": "measured"})
    html = export.render(record_page(report, COLUMNS, "t"), "html")
    assert '<span class="yes">=</span> counted' in html and '<span class="no">§</span> cited' in html
    assert '<span class="no">✗</span> ran' in html
    assert '<p class="legend">legend: ✓/✗ measured in this run; = exact arithmetic on the architecture' in html
    assert "basis: architecture" in html and "cannot tell" not in html


def test_reproduce_counts_yes_no_and_cannot_tell_in_the_caption_not_in_the_data():
    yes, no = {**FRAGILE, "fragile": False}, {**FRAGILE, "claim": "slower", "reproduced": False}
    done = [("memorize", _report(yes, no, UNSURE)), ("probe", _report(yes))]
    assert count_line([yes, no, UNSURE, yes]) == "4 claims: 2 yes, 1 no, 1 cannot tell"
    page = claims_page(done, "deepgen reproduce")
    line = "4 claims: 2 yes, 1 no, 1 cannot tell"
    md = export.render(page, "markdown").splitlines()
    assert md[6:8] == ["", line]  # under the table's header, rule and 4 rows
    assert line in export.render(page, "table")
    assert f"<caption>{line}</caption>" in export.render(page, "html")
    assert "claims:" not in export.render(page, "csv") and "claims:" not in export.render(page, "json")
    assert len(json.loads(export.render(page, "json"))) == 4


def test_compare_shows_a_cannot_tell_with_its_reason_and_the_legend(cli, tmp_path):
    def record(path, finding):
        path.write_text(json.dumps({
            "schema": "deepgen.result/1", "command": "memorize", "status": "complete", "seed": 0, "config": {},
            "environment": {}, "rows": [], "findings": [finding], "notes": [], "analysis": {}}))
        return path

    a = record(tmp_path / "a.json", {"claim": "does not hurt", "measured": "+1 ± 2 points", "reproduced": True})
    b = record(tmp_path / "b.json", UNSURE)
    for fmt in ("table", "markdown"):
        out = cli("compare", a, b, "-f", fmt).stdout
        assert (f"verdict changed (yes -> ?): does not hurt; A: +1 ± 2 points; B: +3 ± 9 points "
                f"(B cannot tell: {WHY})") in out
        assert f"legend: {UNSURE_LEGEND}" in out
    assert json.loads(cli("compare", a, b, "-f", "json").stdout)["findings"][0]["b"]["reason"] == WHY


def test_a_record_from_before_cannot_tell_renders_as_it_did():
    # reproduced a bool, no reason, no fragile, the first finding without a basis (older still)
    text = json.dumps({"schema": "deepgen.result/1", "command": "memorize", "deepgen_version": "0.1.0",
                       "time_utc": "t", "status": "complete", "seed": 0, "config": {}, "environment": {},
                       "rows": [{"model": "a", "acc": 0.5}],
                       "findings": [{"claim": "fits", "measured": "100%", "reproduced": True},
                                    {"claim": "chance", "measured": "+9 points", "reproduced": False,
                                     "basis": "measured"}],
                       "notes": ["n"], "analysis": {}}, indent=2) + "\n"
    report = to_report(json.loads(text))
    assert to_json(report) == text  # written back unchanged: no reason or fragile added
    page = record_page(report, COLUMNS, "t")
    assert export.render(page, "markdown").splitlines() == [
        "| model | acc |", "| --- | ---: |", "| a | 50.0% |", "",
        "- ✓ fits: 100% (**claim reproduced: yes**)", "- ✗ chance: +9 points (**claim reproduced: no**)", "- note: n"]
    assert export.render(page, "table").splitlines()[-3:] == [
        "✓ fits: 100% (claim reproduced: yes)", "✗ chance: +9 points (claim reproduced: no)", "  note: n"]
    first, second = export.render(claims_page([("memorize", report)], "t"), "csv").splitlines()[1:]
    assert first.split(",")[5:] == ["yes", "True", "", "False"] and second.split(",")[5] == "no"


class _Text(HTMLParser):
    """The text a reader sees in a page's body (tags and attributes left out)."""

    def __init__(self):
        super().__init__()
        self.body, self.text = False, []

    def handle_starttag(self, tag, attrs):
        self.body = self.body or tag == "body"

    def handle_data(self, data):
        self.text += [data] if self.body else []


def test_html_shows_the_command_line_and_config_and_the_title_once():
    argv = ["memorize", "--noise", "0,1", "--plot", "fig 1.png"]
    report = Report("memorize", {"noise": [0.0, 1.0], "epochs": 300, "dataset": "digits"},
                    {"device": "cpu", "argv": argv}, seed=0, rows=[{"model": "a", "acc": 0.5}])
    html = export.render(record_page(report, COLUMNS, "Memorization", plot=lambda: b"\x89PNG"), "html")
    body = html.split("<body>", 1)[1]
    # quoted as a shell needs it: the space in the plot's name
    assert '<p class="meta">command: <code>deepgen memorize --noise 0,1 --plot &#x27;fig 1.png&#x27;</code></p>' in body
    assert "<td>noise</td><td>[0.0, 1.0]</td>" in body and "<td>epochs</td><td>300</td>" in body
    assert "<summary>config (3 options)</summary>" in body
    assert body.count("Memorization") == 1 and "<h1>deepgen memorize: Memorization</h1>" in body
    seen = _Text()
    seen.feed(html)
    assert "".join(seen.text).count("Memorization") == 1
    # a record without argv (written by an older deepgen, or edited) shows no command line
    del report.environment["argv"]
    assert "command:" not in export.render(record_page(report, COLUMNS, "Memorization"), "html")


def test_html_of_several_sections_keeps_each_sections_heading():
    detail = record_section(_report(FRAGILE), COLUMNS, "Memorization", detail=True)
    html = export.render(claims_page([("memorize", _report(FRAGILE))], "deepgen reproduce", details=[detail]), "html")
    body = html.split("<body>", 1)[1]
    assert body.count("<h1>deepgen reproduce</h1>") == 1 and "<h2>deepgen reproduce</h2>" not in body
    assert body.count("<h2>Memorization</h2>") == 1
