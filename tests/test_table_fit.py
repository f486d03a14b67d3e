"""Tables at 80 columns: no cell is ever elided ('…'), every cell's text is on the page (in the table or in the
caption line naming the columns that hold one value), and every line fits."""

import json
from pathlib import Path

import pytest

from deepgen_cli.cli import spec
from deepgen_cli.report.export import render
from deepgen_cli.report.page import Page, Section
from deepgen_cli.report.table import Column, fixed, layout, percent, text

SPECS = {s.name: s for s in spec.every()}
RECORDS = Path(__file__).resolve().parent.parent / "docs" / "records"


def sample(column: Column, i: int):
    """A value the column can format that differs by row (wide enough to need the room a real one does)."""
    for value in (1234.5678 * (i + 1) if i % 3 else 0.5 + i / 100, f"name-{i}-of-a-sweep"):
        try:
            column.fmt(value)
            return value
        except (TypeError, ValueError):
            continue
    return None


def shown(section: Section, width: int = 80) -> str:
    out = render(Page(section.title, [section], None, [], []), "table", width)
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= width
    words = set(out.replace("│", " ").replace("┃", " ").replace(",", " ").replace(";", " ").split())
    for row in section.rows:
        for c in section.columns:
            cell = "" if row.get(c.key) is None else c.fmt(row[c.key])
            assert set(cell.replace(",", " ").split()) <= words, (c.header, cell)
    return out


@pytest.mark.parametrize("name", SPECS)
def test_every_commands_table_shows_every_cell_at_80_columns(name):
    s = SPECS[name]
    columns, title = s.table(s.config_cls())
    rows = [{c.key: sample(c, i) for c in columns} for i in range(5)]
    for row in rows:  # a column that holds one value in every row, and one with none
        row[columns[1].key], row[columns[-1].key] = rows[0][columns[1].key], None
    shown(Section(title, columns, rows))


@pytest.mark.parametrize("path", sorted(RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_the_docs_records_render_whole_at_80_columns(path):
    from deepgen_cli.cli.records import merged

    kind, report, columns, title = merged([str(path)])
    shown(Section(title, columns, report.rows))


def test_a_table_that_fits_is_left_as_it_is_and_constant_columns_move_to_the_caption_only_when_needed():
    headers, rows = ["model", "seed", "gap"], [["mlp1x512", "0", "62.4%"], ["mlp1x512", "0", "1.5%"]]
    assert layout(headers, rows, 80).blocks == [[0, 1, 2]] and layout(headers, rows, 80).caption == ""
    # 1 + (8+3) + (4+3) + (5+3) = 27 columns: at 20 the constant model and seed go to the caption
    narrow = layout(headers, rows, 20)
    assert narrow.blocks == [[2]] and narrow.caption == "in every row: model mlp1x512, seed 0"


def test_headers_wrap_at_word_breaks_before_a_table_is_split():
    headers = ["test acc (batch stats)", "x fewer Mult-Adds"]
    rows = [["35.3%", "10.70x"], ["85.6%", "1.15x"]]
    plan = layout(headers, rows, 24)  # widest words: 'stats)' 6 and 'Mult-Adds' 9: 1 + 9 + 12 = 22 columns
    assert plan.blocks == [[0, 1]] and not plan.vertical
    assert all(len(line) <= 11 for h in plan.headers for line in h.split("\n"))


def test_a_wide_table_splits_into_parts_that_repeat_the_identity_columns_and_falls_back_to_lines():
    columns = [Column("norm", "norm", text, numeric=False), Column("seed", "seed", text)]
    columns += [Column(f"m{k}", f"measure {k}", percent) for k in range(12)]
    rows = [{"norm": n, "seed": s, **{f"m{k}": 0.1 * k + s / 100 for k in range(12)}}
            for n in ("batch", "renorm") for s in (0, 1)]
    out = shown(Section("Wide", columns, rows))
    assert "Wide (1/2)" in out and "Wide (2/2)" in out and out.count("renorm") == 2 * 2
    # 30 columns: identity (norm, seed) and one measure do not fit beside each other: one line per cell
    out = shown(Section("Wide", columns, rows), width=30)
    assert "measure 11: 111.0%" in out and "norm: renorm" in out


@pytest.mark.parametrize("args", [["report", RECORDS / "memorize.json"], ["report", RECORDS / "probe.json"],
                                  ["compare", RECORDS / "norm-compare.json", RECORDS / "norm-compare.json"]])
def test_report_and_compare_into_a_pipe_fit_the_columns_it_asks_for(args, monkeypatch):
    """`COLUMNS=80 deepgen report rec.json | less`: report and compare render the whole page before printing it
    (a bad record prints nothing); they once rendered it at the pipe's default 240 columns whatever COLUMNS said,
    so memorize's table came out 132 wide."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "deepgen_cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"}, timeout=120)
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    assert "…" not in done.stdout
