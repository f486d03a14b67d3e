"""The measured tables in docs/ and the README are what `deepgen report` renders from the committed records."""

from __future__ import annotations

import json

from deepgen_cli.report import docs


def test_every_page_matches_its_records():
    assert docs.stale() == [], "run: python -m deepgen_cli.report.docs"


def test_a_page_renders_its_marker_from_the_record_and_names_the_machine(tmp_path):
    from tests.test_report_cmd import _memorize_record

    folder = tmp_path / "docs"
    (folder / "records").mkdir(parents=True)
    record = _memorize_record(folder / "records" / "m.json", (0.0, 1.0), (0.97, 0.12))
    data = json.loads(record.read_text())
    data["environment"].update(device="cpu", device_name="Test CPU 9000", threads=1, torch="2.14.1")
    record.write_text(json.dumps(data))
    page = folder / "m.md"
    page.write_text("intro\n<!-- deepgen report records/m.json -f markdown -->\nstale\n<!-- end deepgen report -->\nend\n")
    assert docs.stale(folder) == ["m.md"]
    rendered = docs.render_page(page.read_text(), folder)
    assert "stale" not in rendered and rendered.startswith("intro\n") and rendered.endswith("end\n")
    assert "*Measured on Test CPU 9000 (cpu; 1 threads, torch 2.14.1" in rendered
    assert "| 97.0% |" in rendered  # the record's test accuracy, as report's Markdown shows it
    page.write_text(rendered)
    assert docs.stale(folder) == []
