"""Every finding of every command says what it rests on (measured, architecture, published), and the
human renderings mark the ones that do not reproduce a claim."""

import pytest
import torch

from deepgen_cli.engine.outcome import BASES, Finding
from deepgen_cli.report.export import render
from deepgen_cli.report.findings import LEGEND
from deepgen_cli.report.page import record_page
from deepgen_cli.report.record import Report
from deepgen_cli.report.table import Column
from tests.sessions import Recorder

CPU = torch.device("cpu")


def test_a_finding_needs_a_known_basis():
    assert BASES == ("measured", "architecture", "published")
    with pytest.raises(ValueError, match="basis must be one of measured, architecture, published, got 'guessed'"):
        Finding("c", "m", True, "guessed")
    with pytest.raises(TypeError):
        Finding("c", "m", True)  # required: no default to forget


def _memorize():
    from deepgen_cli.engine.memorize import MemorizeConfig, run

    return run(MemorizeConfig(noise=(0.0, 1.0), subset=100, repeats=1), CPU, Recorder())


def _norm_compare():
    from deepgen_cli.engine.norm_compare import NormCompareConfig, run

    return run(NormCompareConfig(norms=("batch", "renorm"), dataset="synthetic", subset=96, batch_size=16,
                                 microbatch=(4, 16), repeats=2, epochs=1, timing_blocks=2, timing_steps=2,
                                 eager_timing=True), CPU,
               Recorder())


def _probe_trained():
    from deepgen_cli.engine.probe import ProbeConfig, run

    return run(ProbeConfig(dataset="synthetic", subset=96, epochs=1, batch_size=16, cka_examples=0, control=False,
                           probe_epochs=1), CPU, Recorder())


def _probe_untrained():
    from deepgen_cli.engine.probe import ProbeConfig, run

    return run(ProbeConfig(dataset="synthetic", subset=96, untrained=True, cka_examples=0, control=False,
                           probe_epochs=1), CPU, Recorder())


def _efficiency():
    from deepgen_cli.engine.efficiency import EfficiencyConfig, run

    return run(EfficiencyConfig(models=("densenet-bc-100-k12", "densenet-40-k12"), min_time_s=0.01, warmup_runs=0),
               CPU, Recorder())


def _reuse():
    from deepgen_cli.engine.reuse import ReuseConfig, run

    return run(ReuseConfig(epochs=1, subset=64, batch_size=32), CPU, Recorder())


@pytest.mark.parametrize("engine,bases", [
    (_memorize, {"measured"}), (_norm_compare, {"measured"}), (_probe_trained, {"measured"}),
    (_probe_untrained, {"measured"}), (_efficiency, {"architecture"}), (_reuse, {"measured"}),
])
def test_every_command_gives_each_finding_its_basis(engine, bases, one_thread):
    outcome = engine()
    assert outcome.findings  # each tiny run checks at least one claim
    assert {f.basis for f in outcome.findings} == bases
    assert all(f.to_dict()["basis"] == f.basis for f in outcome.findings)


def test_markdown_marks_what_only_checks_on_paper():
    report = Report("x", {}, {}, rows=[{"model": "a"}])
    report.findings = [f.to_dict() for f in (
        Finding("ran", "1 ms", True, "measured"), Finding("slow", "9 ms", False, "measured"),
        Finding("counted", "0.8M", True, "architecture"), Finding("cited", "77%", False, "published"))]

    def to_markdown(report, columns):
        return render(record_page(report, columns, "x"), "markdown")

    lines = to_markdown(report, [Column("model", "model", numeric=False)]).splitlines()
    assert lines[4:] == ["- ✓ ran: 1 ms (**claim reproduced: yes**)", "- ✗ slow: 9 ms (**claim reproduced: no**)",
                         "- = counted: 0.8M (**holds by the architecture: yes**)",
                         "- § cited: 77% (**holds in the published numbers: no**)", f"- legend: {LEGEND}"]
    report.findings = report.findings[:2]
    assert "legend" not in to_markdown(report, [Column("model", "model", numeric=False)])
