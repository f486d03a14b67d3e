"""Every reader of a record (`report` in each format, `report --plot`, `compare` either way round, `--config`,
`--resume`) given a record of each command with any JSON value in any field, a field removed or one added: exit 0
with the record rendered, or exit 2 with one line naming the file, and nothing on stdout; never exit 1 (an internal
error), never a traceback. A small budget in the default suite; `-m slow` runs a larger one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from deepgen_cli.cli.app import app

RECORDS = Path(__file__).resolve().parent.parent / "docs" / "records"
COMMANDS = ("efficiency", "memorize", "norm-compare", "probe", "reuse")


def _base(command: str) -> dict:
    """The committed record of `command`, cut to its first 3 rows (the readers' paths are the same, faster)."""
    record = json.loads((RECORDS / f"{command}.json").read_text())
    record["rows"] = record["rows"][:3]
    return record


BASES = {c: _base(c) for c in COMMANDS}

# A 5000-digit integer: more than Python turns into text (4300 digits), so it is written as raw digits
BIG = "<5000 digits>"
BIG_TEXT = "9" * 5000


def dump(record) -> str:
    return json.dumps(record).replace(json.dumps(BIG), BIG_TEXT)


# Any JSON value: numbers at the edges (huge integers, 1e308, -0.0), text with markup and control characters,
# nested lists and objects.
_scalars = (st.none() | st.booleans() | st.integers() | st.sampled_from([BIG, -(2**63), 2**64, 0])
            | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e308, -0.0, 5e-324])
            | st.text(max_size=12) | st.sampled_from(["", "<b>x</b>", "[red]x", "\x00", "nan", "1e999", "|"]))
JSON = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                            max_size=3),
                    max_leaves=6)
_TOP = ("schema", "command", "deepgen_version", "time_utc", "status", "seed", "config", "derived", "environment",
        "rows", "findings", "notes", "analysis")


@st.composite
def mutated(draw) -> tuple[str, dict, str]:
    """(command, a record of it with 1 to 3 changes, what was changed)."""
    command = draw(st.sampled_from(COMMANDS))
    record = json.loads(json.dumps(BASES[command]))
    done = []
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "row", "finding", "config", "environment", "analysis"]))
        if where == "top":
            target, keys = record, list(_TOP)
        elif where in ("row", "finding"):
            items = record.get("rows" if where == "row" else "findings")
            if not isinstance(items, list) or not items or not isinstance(items[0], dict):
                continue
            target = items[draw(st.integers(0, len(items) - 1))]
            if not isinstance(target, dict):
                continue
            keys = list(target)
        else:
            target = record.get(where)
            if not isinstance(target, dict):
                continue
            keys = list(target)
        key = draw(st.sampled_from(keys + ["extra"])) if keys else "extra"
        if draw(st.booleans()) and key in target:
            del target[key]
            done.append(f"{where}.{key} removed")
        else:
            target[key] = draw(JSON)
            done.append(f"{where}.{key} = {json.dumps(target[key])[:60]}")
    return command, record, "; ".join(done)


def _check(result, path: Path, what: str) -> None:
    out, err = result.stdout, result.stderr
    assert result.exit_code in (0, 2), f"{what}: exit {result.exit_code}: {err or result.exception!r}"
    assert "Traceback" not in err, what
    if result.exit_code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("deepgen: error: "), f"{what}: {err!r}"
        assert str(path) in lines[0], f"{what}: the error does not name the file: {err!r}"
        # the renderer's last guard (cli/records.py emit_whole) names no field: every value the fuzz finds that
        # reaches it is a crash to fix at the reader
        assert "cannot be shown (" not in lines[0], f"{what}: {err!r}"
        # the plots' guard (cli/records.py draw) names the file and says the rows or analysis do not fit
        assert out == "", f"{what}: stdout before the error: {out[:200]!r}"
    else:
        assert out, f"{what}: exit 0 with nothing on stdout"  # a CSV of no rows is one empty line


@pytest.fixture(scope="module")
def stub_runs():
    """--config and --resume read the record, then would run the experiment: the run is replaced by one that
    reads --resume's rows (session.record with an engine that measures nothing) and prints one line."""
    from deepgen_cli.cli import session
    from deepgen_cli.engine.outcome import Outcome

    def fake_run(name, config, common, engine, columns, title, after=None, sweep=(), derived=()):
        session.record(name, config, common, lambda *a: Outcome(), sweep, derived=derived)
        print("read")

    patch = pytest.MonkeyPatch()
    patch.setattr(session, "run", fake_run)  # cli/experiment.py imports it from session when a run starts
    yield
    patch.undo()


def _readers(command: str, path: Path, base: Path, tmp: Path, groups: set[str]):
    if "text" in groups:
        yield ["report", path]
        for fmt in ("json", "csv", "markdown"):
            yield ["report", path, "-f", fmt]
        yield ["report", base, path]
        yield ["compare", base, path]
        yield ["compare", path, base]
    if "pictures" in groups:  # matplotlib: about a second a plot
        yield ["report", path, "-f", "html"]
        yield ["report", path, "--plot", tmp / "p.png"]
    if "runs" in groups:
        yield [command, "--config", path, "-q"]
        copy = tmp / "resume.json"
        shutil.copyfile(path, copy)
        yield [command, "--config", path, "-o", copy, "--resume", "-q"]


def _fuzz(case, tmp_path_factory, groups: set[str]) -> None:
    command, record, what = case
    tmp = tmp_path_factory.mktemp("fuzz")
    path, base = tmp / "record.json", tmp / "base.json"
    path.write_text(dump(record))
    base.write_text(json.dumps(BASES[command]))
    runner = CliRunner()
    for args in _readers(command, path, base, tmp, groups):
        shown = path
        result = runner.invoke(app, [str(a) for a in args])
        if "--resume" in args and result.exit_code == 2 and str(args[-3]) in result.stderr:
            shown = args[-3]  # --resume names its --output, a copy of the record
        if "--config" in args and result.exit_code == 0:
            assert result.stdout.strip() == "read", what
            continue
        _check(result, Path(shown), f"{' '.join(map(str, args[:1]))} {args[1:]} with {what}")


def _budget(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# The default suite's budget: about 20 s in all on this 2-core machine under load.
@_budget(15)
@given(case=mutated())
def test_report_and_compare_read_any_record(case, tmp_path_factory, stub_runs):
    _fuzz(case, tmp_path_factory, {"text"})


@_budget(3)
@given(case=mutated())
def test_plots_and_html_read_any_record(case, tmp_path_factory, stub_runs):
    _fuzz(case, tmp_path_factory, {"pictures"})


@_budget(8)
@given(case=mutated())
def test_config_and_resume_read_any_record(case, tmp_path_factory, stub_runs):
    _fuzz(case, tmp_path_factory, {"runs"})


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(case=mutated())
def test_every_reader_reads_any_record_at_length(case, tmp_path_factory, stub_runs):
    _fuzz(case, tmp_path_factory, {"text", "pictures", "runs"})
