"""width-reg: the train/test gap and what the regularizers buy, narrow against wide, judged on hand-made rows whose
numbers can be checked by hand; one tiny run of the engine."""

import pytest

from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.width_reg import WidthRegConfig, WidthRegRow, run
from deepgen_cli.engine.width_reg.findings import findings
from tests.sessions import Recorder

CONFIG = WidthRegConfig(widths=(4, 64), repeats=3)


def rows(cells: dict) -> list:
    """cells: (width, regularized) -> per-seed (train, test) accuracies."""
    return [WidthRegRow(w, r, s, 100 * w, tr, te, tr - te, 0.1) for (w, r), v in cells.items()
            for s, (tr, te) in enumerate(v)]


def test_a_wide_member_that_overfits_more_and_gains_more_from_the_regularizers_is_two_yes():
    cells = {(4, False): [(0.95, 0.93), (0.96, 0.93), (0.95, 0.92)],  # gaps 0.02, 0.03, 0.03
             (64, False): [(1.0, 0.90), (1.0, 0.91), (1.0, 0.89)],  # gaps 0.10, 0.09, 0.11
             (4, True): [(0.94, 0.93), (0.95, 0.93), (0.94, 0.92)],  # buys 0, 0, 0
             (64, True): [(0.99, 0.95), (0.99, 0.96), (0.99, 0.94)]}  # buys 0.05, 0.05, 0.05
    out = findings(rows(cells), CONFIG, 10)
    gap, buy = out.findings
    assert out.analysis["gap_difference"] == pytest.approx((0.08 + 0.06 + 0.08) / 3)
    assert out.analysis["buy_difference"] == pytest.approx(0.05)
    assert gap.reproduced is True and buy.reproduced is True


def test_equal_members_are_no_and_an_untrained_narrow_member_cannot_tell():
    same = [(1.0, 0.95), (1.0, 0.96), (1.0, 0.94)]
    cells = {(w, r): same for w in (4, 64) for r in (False, True)}
    assert [f.reproduced for f in findings(rows(cells), CONFIG, 10).findings] == [False, False]
    cells[(4, False)] = [(0.3, 0.2), (0.3, 0.25), (0.3, 0.2)]  # under the 55% floor on 10 classes
    gap, buy = findings(rows(cells), CONFIG, 10).findings
    assert gap.reproduced is None and "did not train" in gap.reason and buy.reproduced is None


def test_widths_must_be_a_narrow_and_a_wider_one_of_a_model_with_a_width():
    with pytest.raises(UsageError, match="--widths"):
        WidthRegConfig(widths=(8, 8)).check()
    with pytest.raises(UsageError, match="--model"):
        WidthRegConfig(model="mlp1x512").check()



def test_a_tiny_run_trains_both_arms_of_both_widths_from_the_same_weights():
    s = Recorder()
    run(WidthRegConfig(widths=(2, 8), epochs=1, subset=64, repeats=2), "cpu", s)
    assert [(r.width, r.regularized, r.seed) for r in s.rows][:3] == [(2, False, 0), (2, False, 1), (2, True, 0)]
    # cnn at width 2: conv 1->2 (3x3, no bias), BN 2, conv 2->4, BN 4, linear over 4 x 2 x 2 -> 10
    assert len(s.rows) == 8
    assert {r.params for r in s.rows if r.width == 2} == {1 * 2 * 9 + 2 * 2 + 2 * 4 * 9 + 2 * 4 + 4 * 4 * 10 + 10}
    assert all(r.gap == pytest.approx(r.train_accuracy - r.test_accuracy) for r in s.rows)


def controlled(control):
    from tests.sessions import Recorder

    return [f for f in run(WidthRegConfig(**control.overrides), "cpu", Recorder()).findings
            if f.claim.startswith(control.claims)]


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_the_controls_as_reproduce_runs_them_say_no_or_cannot_tell():
    from deepgen_cli.engine.width_reg.controls import CONTROLS

    (buy,) = controlled(CONTROLS[0])
    assert buy.reproduced is False and "+0.0 points ± 0.0" in buy.measured  # the two arms are one computation
    gap, buy = controlled(CONTROLS[1])
    assert gap.reproduced is not True and buy.reproduced is not True  # measured: no and cannot tell
