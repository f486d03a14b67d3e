"""memorize's negative controls (engine/memorize/controls.py), each run through the CLI with its overrides as flags:
in every one the controlled claims come out no or cannot tell, never yes."""

import dataclasses
import json

import pytest

from deepgen_cli.engine.memorize import MemorizeConfig
from deepgen_cli.engine.memorize.controls import CONTROLS

BY_LABEL = {c.label: c for c in CONTROLS}
SLOW = {"a model too small to memorize (mlp1x8)", "a destructive confidence penalty (beta 30)",
        "a model too small to memorize random labels, pixels or images (mlp1x8, 50 epochs)"}  # over 10 s each


def _flags(overrides: dict) -> list[str]:
    out = []
    for field, value in overrides.items():
        text = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) if isinstance(value, tuple) \
            else f"{value:g}" if isinstance(value, float) else str(value)
        out += [f"--{field.replace('_', '-')}", text]
    return out


def _verdicts(cli, control) -> dict:
    result = cli("memorize", *_flags(control.overrides), "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    return {start: [f for f in findings if f["claim"].startswith(start)] for start in control.claims}


def test_every_control_is_a_valid_setting_of_the_command():
    fields = {f.name for f in dataclasses.fields(MemorizeConfig)}
    for c in CONTROLS:
        assert set(c.overrides) <= fields and c.claims and c.why
        MemorizeConfig(**c.overrides).resolved().check()
    assert _flags({"noise": (0.0, 1.0), "lr": 1e-5, "epochs": 3}) == ["--noise", "0,1", "--lr", "1e-05", "--epochs", "3"]


@pytest.mark.parametrize("label", [pytest.param(c.label, marks=[pytest.mark.slow] if c.label in SLOW else [])
                                   for c in CONTROLS])
def test_a_control_never_says_yes(cli, one_thread, label):
    control = BY_LABEL[label]
    verdicts = _verdicts(cli, control)
    found = [f for fs in verdicts.values() for f in fs]
    assert found, f"{label}: none of {control.claims} was judged"  # a control that judges nothing proves nothing
    assert all(f["reproduced"] is not True for f in found), [(f["claim"][:50], f["reproduced"]) for f in found]
    assert all(f["reason"] for f in found if f["reproduced"] is None)


def test_too_few_epochs_and_an_untrained_network_give_their_numbers(cli, one_thread):
    short = _verdicts(cli, BY_LABEL["too few epochs (3)"])
    (fit,) = short["mlp1x512 fits random labels"]
    assert fit["reproduced"] is False and "not fit as trained in 3 epochs run" in fit["measured"]
    (chance,) = short["Test accuracy falls to chance at p=1"]
    assert chance["reproduced"] is None and "did not fit the random labels" in chance["reason"]
    untrained = _verdicts(cli, BY_LABEL["an untrained network (1 epoch at lr 1e-5)"])
    (rise,) = untrained["Test error rises with the noise level p"]
    assert rise["reproduced"] is None and "under the trained floor 32.5%" in rise["reason"]


def test_the_regularization_controls_give_their_reasons(cli, one_thread):
    # an untrained network: three models at chance are "within 5.15 points" of each other; the floor says cannot tell
    (nn,) = _verdicts(cli, BY_LABEL["no regularizer on an untrained network (1 epoch at lr 1e-5; none, wd, dropout "
                                     "at p=0)"])["Explicit regularization is not necessary for generalization"]
    assert nn["reproduced"] is None and "did not train" in nn["reason"] and "under the trained floor 32.5%" in nn["reason"]
    # 3 epochs: neither regularized model fits random labels, so "does not prevent memorization" is a no, one per model
    found = _verdicts(cli, BY_LABEL["too few epochs (3) with weight decay and dropout"])
    prevent = found["Regularization does not prevent memorization"]
    assert [("with wd" in f["claim"], "with dropout" in f["claim"], f["reproduced"]) for f in prevent] == [
        (True, False, False), (False, True, False)]
    assert all("3 of 3 seeds not fit as trained within 3 epochs" in f["measured"] for f in prevent)


@pytest.mark.slow
def test_a_model_too_small_to_memorize_starts_converging_on_no_corruption(cli, one_thread):
    control = BY_LABEL["a model too small to memorize random labels, pixels or images (mlp1x8, 50 epochs)"]
    (order,) = _verdicts(cli, control)["Random pixels and Gaussian images start converging faster than random labels"]
    assert order["reproduced"] is None
    assert order["reason"].startswith("random-pixels, gaussian did not bring the training loss below ln(classes)/2")
    assert "random labels: fit at epoch never, loss below ln(K)/2 at epoch never" in order["measured"]


@pytest.mark.slow
def test_the_setting_issue_24_quotes_gives_the_confidence_penalty_no_yes(cli, one_thread):
    # beta 30 with 2 seeds: 34.0% error against 2.4% once read as "does not hurt"; now the 2-seed interval is wider
    # than the 1-point margin (cannot tell), and the under-confident model is a no on over-confidence
    result = cli("memorize", "--regularizer", "none,label-smoothing,confidence-penalty", "--confidence-penalty", "30",
                 "--noise", "0", "--repeats", "2", "--epochs", "30", "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    penalty = {f["claim"].split(" (")[0].split(":")[0]: f for f in json.loads(result.stdout)["findings"]
               if f["claim"].startswith("The confidence penalty")}
    assert [f["reproduced"] for f in penalty.values()] == [False, None, None]
    assert "under-confident" in penalty["The confidence penalty lowers over-confidence"]["measured"]
    assert "straddles the margin +1.00" in penalty["The confidence penalty does not hurt test error against none and "
                                                   "label-smoothing"]["reason"]
