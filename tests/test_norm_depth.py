"""norm-depth: batch norm's small-microbatch loss by depth, and renorm's recovery, judged on hand-made rows whose
numbers can be checked by hand; one tiny run of the engine."""

import pytest

from deepgen_cli.engine.norm_depth import NormDepthConfig, plan, run
from deepgen_cli.engine.norm_depth.findings import findings
from deepgen_cli.engine.norm_depth.rows import NormDepthRow
from deepgen_cli.engine.errors import UsageError
from tests.sessions import Recorder


def rows(acc: dict) -> list:
    """acc: (depth, microbatch, norm) -> per-seed test accuracies."""
    return [NormDepthRow(d, m, k, s, a, a, 0.1, 10, 0.1) for (d, m, k), vals in acc.items()
            for s, a in enumerate(vals)]


CONFIG = NormDepthConfig(depths=(1, 4), repeats=3)


def test_a_loss_that_grows_from_depth_1_to_4_is_a_yes_and_half_of_it_back_is_recovery():
    acc = {(1, 32, "batch"): [0.98, 0.97, 0.98], (1, 2, "batch"): [0.90, 0.88, 0.91],
           (1, 2, "renorm"): [0.96, 0.95, 0.96], (4, 32, "batch"): [0.98, 0.98, 0.97],
           (4, 2, "batch"): [0.50, 0.55, 0.45], (4, 2, "renorm"): [0.90, 0.92, 0.88]}
    out = findings(rows(acc), CONFIG)
    growth, recovery = out.findings
    # per seed losses 0.08, 0.09, 0.07 at depth 1 and 0.48, 0.43, 0.52 at depth 4: growth 0.40, 0.34, 0.45
    assert out.analysis["growth"]["per_seed"] == pytest.approx([0.40, 0.34, 0.45])
    assert growth.reproduced is True and "+39.7 points" in growth.measured
    # depth 1: gain 0.06, 0.07, 0.05 vs half the loss 0.04, 0.045, 0.035; depth 4: gain 0.40, 0.37, 0.43 vs 0.24...
    assert recovery.reproduced is True


def test_the_same_loss_at_every_depth_is_a_no_and_no_loss_is_cannot_tell():
    same = {(d, m, "batch"): v for d in (1, 4) for m, v in ((32, [0.98, 0.97, 0.98]), (2, [0.90, 0.89, 0.90]))}
    same.update({(d, 2, "renorm"): [0.91, 0.90, 0.91] for d in (1, 4)})
    growth, recovery = findings(rows(same), CONFIG).findings
    assert growth.reproduced is False  # growth exactly 0 at every seed: upper bound 0 < 1 point
    assert recovery.reproduced is False  # gain 0.01 against half of a 0.08-0.085 loss
    none = {(d, m, k): [0.97, 0.98, 0.97] for d in (1, 4) for m, k in ((32, "batch"), (2, "batch"), (2, "renorm"))}
    growth, recovery = findings(rows(none), CONFIG).findings
    assert growth.reproduced is None and "no small-batch problem" in growth.reason
    assert recovery.reproduced is None and "premise failed" in recovery.reason


def test_an_untrained_reference_makes_both_cannot_tell():
    acc = {(d, m, k): [0.3, 0.31, 0.29] if m == 32 else [0.1, 0.12, 0.11] for d in (1, 4)
           for m, k in ((32, "batch"), (2, "batch"), (2, "renorm"))}
    assert [f.reproduced for f in findings(rows(acc), CONFIG).findings] == [None, None]


def test_the_plan_pairs_every_cell_by_seed_and_bad_settings_are_usage_errors():
    items = plan(NormDepthConfig(depths=(1, 2), microbatch=(2, 32), repeats=2))
    # per depth: batch at 2 and 32, renorm at 2 only, 2 seeds each
    assert len(items) == 2 * 3 * 2 and (1, 32, "renorm", 0) not in items and (2, 2, "renorm", 1) in items
    with pytest.raises(UsageError, match="--microbatch"):
        NormDepthConfig(microbatch=(2,)).check()
    with pytest.raises(UsageError, match="--depths"):
        NormDepthConfig(depths=(0, 2)).check()



def test_a_tiny_run_trains_every_cell_with_the_depth_it_names():
    s = Recorder()
    out = run(NormDepthConfig(depths=(1, 3), microbatch=(2, 8), batch_size=8, epochs=1, subset=64, repeats=2), "cpu", s)
    assert len(s.rows) == 2 * 3 * 2 and all(r.steps == 8 for r in s.rows)  # 64 / 8 minibatches, one epoch
    assert [f.claim[:30] for f in out.findings] == ["Batch norm's small-microbatch ", "Batch renorm recovers batch no"]


def controlled(control):
    from deepgen_cli.engine.norm_depth.controls import CONTROLS  # noqa: F401  (the caller passes one of them)
    from tests.sessions import Recorder

    outcome = run(NormDepthConfig(**control.overrides), "cpu", Recorder())
    return [f for f in outcome.findings if f.claim.startswith(control.claims)]


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_the_controls_as_reproduce_runs_them_say_no_or_cannot_tell():
    from deepgen_cli.engine.norm_depth.controls import CONTROLS

    large, same = CONTROLS
    growth, recovery = controlled(large)
    # microbatch 16 against 32: batch norm loses nothing at any depth (measured -0.2 to -0.1 points)
    assert growth.reproduced is None and "no small-batch problem" in growth.reason
    assert recovery.reproduced is None and "premise failed" in recovery.reason
    (recovery,) = controlled(same)
    # renorm clipped to batch norm loses what batch norm loses: gains of -0.3 to -2 points, far under half the loss
    assert recovery.reproduced is False
