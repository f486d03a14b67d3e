"""One ExperimentSpec per command: a toy experiment registered here, in the test alone, is a command with --resume,
`report`, `compare` and `reproduce` (--controls included), with no other file edited."""

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from deepgen_cli.cli import ranks, spec
from deepgen_cli.engine.config import RunOptions, at_least, opt
from deepgen_cli.engine.outcome import Control, Finding, Outcome
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.report.table import Column, fixed, text

POINTS = opt("--points", type=int, check=at_least(1), valid="1 or more", help="Rows to measure.")
EFFECT = opt("--effect", type=float, help="Slope of the toy phenomenon; 0: absent.")


@dataclass(frozen=True, kw_only=True)
class ToyConfig(RunOptions):
    points: int = POINTS(3)
    effect: float = EFFECT(1.0)


@dataclass
class ToyRow:
    KEY: ClassVar[tuple[str, ...]] = ("point",)

    point: int
    value: float


MEASURED = []  # every point the toy engine measured (not reused), in order


def run_toy(config: ToyConfig, device, session) -> Outcome:
    def measure(point, label):
        MEASURED.append(point)
        return ToyRow(point, config.effect * point)

    rows = measure_rows(session, range(config.points), row_type=ToyRow, key=lambda p: (p,), measure=measure,
                        label=lambda p: f"point {p}")
    slope = rows[-1].value / max(len(rows) - 1, 1)
    if abs(slope) < 0.1:  # a toy margin: slopes this close to 0 are not told apart from none
        verdict = Finding("Toy values rise with the point", f"slope {slope:g}", None, "measured",
                          reason="slope within 0.1 of 0")
    else:
        verdict = Finding("Toy values rise with the point", f"slope {slope:g}", slope > 0, "measured")
    return Outcome(findings=[verdict])


def toy_spec(name: str, controls: tuple, torchrun: bool = False) -> spec.ExperimentSpec:
    return spec.ExperimentSpec(
        name=name, help="A toy experiment.", config=ToyConfig, row=ToyRow, run=run_toy,
        columns=(Column("point", "point", text), Column("value", "value", fixed(2))), title="Toy",
        sweep=("points",), papers="Toy et al. 2024", torchrun=torchrun, reproduce=dict(points=4), quick=dict(points=2),
        smoke=("--points", "2"), controls=controls)


# effect 0: the phenomenon is absent and the verdict cannot tell; effect -1: it is reversed, no
CONTROLS = (Control(label="no effect", overrides=dict(effect=0.0), claims=("Toy values rise",), why="slope 0"),
            Control(label="reversed", overrides=dict(effect=-1.0), claims=("Toy values",), why="slope -1"))
# a control whose setting keeps the phenomenon: it says yes, which must fail the run
BROKEN = (Control(label="still rising", overrides=dict(effect=2.0), claims=("Toy values rise",), why="none"),)


@pytest.fixture
def toy_cli():
    added = [spec.register(toy_spec("toy", f"{__name__}:CONTROLS", torchrun=True)),
             spec.register(toy_spec("toy-broken", BROKEN))]
    MEASURED.clear()
    from deepgen_cli.cli.app import build

    app, runner = build(), CliRunner()
    try:
        yield lambda *args: runner.invoke(app, [str(a) for a in args])
    finally:
        for s in added:
            spec.SPECS.pop(s.name)


def test_a_toy_experiment_is_a_command_that_resumes_reports_and_compares(toy_cli, tmp_path):
    rec = tmp_path / "toy.json"
    first = toy_cli("toy", "--points", "3", "--effect", "1.5", "-q", "-o", rec, "-f", "json")
    assert first.exit_code == 0, first.stderr
    assert [(r["point"], r["value"]) for r in json.loads(first.stdout)["rows"]] == [(0, 0.0), (1, 1.5), (2, 3.0)]
    assert MEASURED == [0, 1, 2]
    # --resume with one more point: the three saved rows are reused by the row's KEY, only point 3 is measured
    again = toy_cli("toy", "--points", "4", "--effect", "1.5", "-q", "-o", rec, "--resume", "-f", "csv")
    assert again.exit_code == 0, again.stderr
    assert MEASURED == [0, 1, 2, 3]
    assert again.stdout.splitlines()[1:] == ["0,0.0", "1,1.5", "2,3.0", "3,4.5"]
    report = toy_cli("report", rec, "-f", "csv")
    assert report.exit_code == 0 and report.stdout == again.stdout
    other = tmp_path / "other.json"
    assert toy_cli("toy", "--points", "2", "--effect", "3", "-q", "-o", other).exit_code == 0
    merged = toy_cli("report", other, rec, "-f", "csv")  # by point: rec's rows 0 and 1, the later, are kept
    assert merged.exit_code == 0 and merged.stdout.splitlines()[1:] == ["0,0.0", "1,1.5", "2,3.0", "3,4.5"]
    compared = toy_cli("compare", other, rec, "-f", "json")
    assert compared.exit_code == 0, compared.stderr
    assert '"command": "toy"' in compared.stdout and "3.0" in compared.stdout and "1.5" in compared.stdout


def test_reproduce_runs_a_toy_experiment_with_its_settings_and_counts_the_verdicts(toy_cli, tmp_path):
    assert [s.name for s in spec.every()][-2:] == ["toy", "toy-broken"]
    assert ranks.data_parallel() == ["memorize", "norm-compare", "reuse", "toy"]  # torchrun=True
    result = toy_cli("reproduce", "toy", "--quick", "-O", tmp_path, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["command,paper,claim,basis,measured,verdict,reproduced,reason,fragile",
                                          "toy,Toy et al. 2024,Toy values rise with the point,measured,slope 1,yes,"
                                          "True,,False"]
    assert json.loads((tmp_path / "toy.json").read_text())["config"]["points"] == 2  # --quick's on reproduce's 4
    assert result.stderr.splitlines()[-1] == "1 claims: 1 yes, 0 no, 0 cannot tell"
    unknown = toy_cli("reproduce", "toys", "-O", tmp_path)
    assert unknown.exit_code == 2 and unknown.stderr.startswith("deepgen: error: COMMAND: no experiment 'toys'")


def test_reproduce_controls_pass_when_no_control_says_yes(toy_cli, tmp_path):
    result = toy_cli("reproduce", "toy", "--controls", "-O", tmp_path, "-f", "markdown")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "| paper | claim | verdict | control | control verdict |", "| --- | --- | --- | --- | --- |",
        "| Toy et al. 2024 | Toy values rise with the point | yes | no effect | ? |",
        "| Toy et al. 2024 | Toy values rise with the point | yes | reversed | no |"]
    controls = [json.loads((tmp_path / f"toy.control-{i}.json").read_text())["config"] for i in (1, 2)]
    assert [(c["points"], c["effect"]) for c in controls] == [(4, 0.0), (4, -1.0)]  # on reproduce's settings


def test_a_control_that_says_yes_fails_reproduce_after_the_table(toy_cli, tmp_path):
    result = toy_cli("reproduce", "toy-broken", "--controls", "--quick", "-O", tmp_path, "-f", "markdown")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[2:] == ["| Toy et al. 2024 | Toy values rise with the point | yes | still rising | yes |"]
    assert json.loads((tmp_path / "toy-broken.control-1.json").read_text())["config"]["effect"] == 2.0
    assert result.stderr.splitlines()[-1] == ("deepgen: error: negative control failed: toy-broken control "
                                              "'still rising' says yes to 'Toy values rise with the point'")


def test_a_name_registered_twice_is_an_error_and_absent_controls_are_none(toy_cli):
    with pytest.raises(ValueError, match="'toy' is registered already"):
        spec.register(toy_spec("toy", ()))
    assert spec.get("toy").negative_controls() == CONTROLS  # named as "module:CONTROLS"
    assert spec.get("toy").key(ToyConfig()) == ("point",)
    # None: the engine package's controls.py, where there is one; a run outside the engine has none
    assert dataclasses.replace(toy_spec("toy-bare", ()), controls=None).negative_controls() == ()
    assert spec.get("probe").negative_controls()[0].claims  # probe's own, read from engine/probe/controls.py


def test_a_claim_without_a_control_shows_a_dash(tmp_path):
    from deepgen_cli.cli.app import build

    spec.register(toy_spec("toy-plain", ()))
    try:
        result = CliRunner().invoke(build(), ["reproduce", "toy-plain", "--controls", "-O", str(tmp_path), "-f", "markdown"])
    finally:
        spec.SPECS.pop("toy-plain")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2:] == ["| Toy et al. 2024 | Toy values rise with the point | yes | - | - |"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy-plain.json"]
