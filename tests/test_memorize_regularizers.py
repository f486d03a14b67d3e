"""`memorize --regularizer`: each regularizer changes training, rows carry it, findings compare them paired by seed,
and calibration figures check by hand."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from deepgen_cli.engine import train
from deepgen_cli.engine.memorize import MemorizeConfig, MemorizeRow, build_model, load_data, row_config, run
from deepgen_cli.engine.memorize import regularizers
from deepgen_cli.engine.memorize.calibration import expected_calibration_error, summarize
from deepgen_cli.engine.stats import difference, paired_seeds as paired, t95
from deepgen_cli.engine.memorize.regularized import regularizer_findings
from tests.sessions import Recorder

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread")  # as memorize runs: one thread, the same numbers every time


def _train(name: str, epochs: int = 8, subset: int = 300):
    """mlp1x512 trained on digits with regularizer `name` alone, seed 0; returns (model, TrainResult, data)."""
    config = MemorizeConfig(subset=subset, epochs=epochs, until_fit=False, regularizer=(name,), threads=1)
    cfg = row_config(config, name)
    data = load_data(config, CPU)
    model, data = build_model(cfg, data, seed=0, dropout=cfg.dropout)
    return model, train.train(model, data, train.TrainConfig.of(cfg, seed=0), CPU), data


def test_each_regularizer_alone_at_its_default_strength_or_its_flag():
    config = MemorizeConfig(regularizer=("none", "wd", "all"), weight_decay=1e-3)
    none, wd, every = (row_config(config, r) for r in ("none", "wd", "all"))
    assert (none.weight_decay, none.dropout, none.augment, none.label_smoothing, none.confidence_penalty) == (
        0.0, 0.0, False, 0.0, 0.0)
    assert wd.weight_decay == 1e-3 and wd.dropout == 0.0  # the flag's strength, the others off
    assert (every.weight_decay, every.dropout, every.augment, every.label_smoothing, every.confidence_penalty) == (
        1e-3, 0.5, True, 0.1, 1.0)
    assert row_config(MemorizeConfig(regularizer=("wd",)), "wd").weight_decay == 5e-4  # Zhang's default
    flags = MemorizeConfig(weight_decay=1e-3, dropout=0.2)  # no --regularizer: the flags, labelled by what is on
    assert row_config(flags, "x") is flags and regularizers.label(flags) == "wd+dropout"


def test_weight_decay_shrinks_the_weight_norm():
    norm = lambda m: math.sqrt(sum(float((p.detach() ** 2).sum()) for p in m.parameters()))  # noqa: E731
    plain, decayed = _train("none")[0], _train("wd")[0]
    # same seed, same batches: 8 epochs x 3 steps at lr 0.1 with decay 5e-4 pull every weight toward 0
    assert norm(decayed) < norm(plain)


def test_the_confidence_penalty_raises_output_entropy_against_the_same_seed_without_it():
    plain, penalized = _train("none")[0], _train("confidence-penalty")[0]
    data = load_data(MemorizeConfig(subset=300), CPU)
    h_plain = train.evaluate(plain, data.x_test, data.y_test, CPU).mean_entropy
    h_pen = train.evaluate(penalized, data.x_test, data.y_test, CPU).mean_entropy
    assert h_pen > h_plain + 0.3  # nats; beta = 1 keeps outputs far from one-hot (ln 10 = 2.30 is the maximum)


def test_label_smoothing_loss_matches_torch_and_bounds_the_training_loss():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    y = torch.tensor([0, 1])
    ours = train.loss_terms(logits, y, label_smoothing=0.1).mean()
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    by_hand = (0.9 * F.nll_loss(F.log_softmax(logits, 1), y) - 0.1 * F.log_softmax(logits, 1).mean(1).mean())
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-6) == pytest.approx(by_hand.item(), abs=1e-6)
    # 10 classes, smoothing 0.1: targets 0.91 and 0.01, so the loss cannot fall below their entropy, 0.500 nats
    floor = -(0.91 * math.log(0.91) + 9 * 0.01 * math.log(0.01))
    assert floor == pytest.approx(0.5003, abs=1e-4)
    result = _train("label-smoothing", epochs=30)[1]
    assert floor <= result.epochs[-1].train_loss < floor + 0.2
    assert _train("none", epochs=30)[1].epochs[-1].train_loss < 0.1  # without it the loss goes far below


def test_dropout_and_augment_change_training():
    model, result, _ = _train("dropout")
    layers = regularizers.dropout_layers(model)
    assert [m.p for m in layers] == [0.5]  # mlp1x512: one hidden layer, one dropout layer
    plain = _train("none")[1]
    assert [e.train_loss for e in result.epochs] != [e.train_loss for e in plain.epochs]
    assert [e.train_loss for e in _train("augment")[1].epochs] != [e.train_loss for e in plain.epochs]


def test_dropout_is_set_on_models_with_dropout_layers():
    config = MemorizeConfig(model="mobilenet")
    data = load_data(MemorizeConfig(subset=20), CPU)
    model, _ = build_model(config, data, seed=0, dropout=0.3)  # mobilenet takes no rate: its layer is set
    assert [m.p for m in regularizers.dropout_layers(model)] == [0.3]
    assert regularizers.has_dropout("mobilenet") and not regularizers.has_dropout("densenet-bc-100-k12")


def test_ece_by_hand():
    conf = torch.tensor([0.95, 0.95, 0.55, 0.55])
    correct = torch.tensor([True, False, True, True])
    # 10 bins: (0.9, 1] has accuracy 0.5 at confidence 0.95, (0.5, 0.6] accuracy 1 at 0.55: 0.5*0.45 + 0.5*0.45
    assert expected_calibration_error(conf, correct, bins=10) == pytest.approx(0.45)
    probs = torch.tensor([[0.995, 0.005], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    cal = summarize(probs, torch.tensor([0, 1, 1, 0]))
    assert cal.confident_fraction == 0.25 and cal.mean_confidence == pytest.approx((0.995 + 0.7 + 0.6 + 0.5) / 4)
    assert sum(cal.max_prob_hist) == 4 and cal.max_prob_hist[19] == 1 and cal.max_prob_hist[9] == 1  # 0.995, 0.5
    # 15 bins: 0.995 right, 0.7 right, 0.6 wrong, 0.5 right, each alone in its bin: (0.005 + 0.3 + 0.6 + 0.5) / 4
    assert cal.ece == pytest.approx((0.005 + 0.3 + 0.6 + 0.5) / 4)


def test_paired_interval_by_hand():
    assert t95(2) == 4.303 and t95(11) == 2.228  # 11 is not listed: the smaller df's wider value
    wide = paired({0: 1.0, 1: 2.0, 2: 3.0}, {0: 0.0, 1: 0.0, 2: 0.0})
    assert (wide.mean, wide.sd) == (2.0, 1.0) and wide.half_width == pytest.approx(4.303 / math.sqrt(3))
    assert not wide.above_zero  # 2 - 2.484 < 0: the spread swallows it
    tight = paired({0: 2.0, 1: 2.1, 2: 1.9}, {0: 0.0, 1: 0.0, 2: 0.0})
    assert tight.above_zero and not tight.below_zero
    assert not paired({0: 5.0}, {0: 0.0}).above_zero  # one seed: no spread, no verdict
    # the three outcomes of a difference claim: 2 ± 2.48 straddles 0 (cannot tell); 2 ± 0.25 lies above 0 and below 3
    assert difference(wide) is None and difference(tight) is True and difference(tight, 3.0) is False
    assert difference(paired({0: 5.0}, {0: 0.0})) is None


def _row(reg, p, seed, test_acc, fit_epoch=20, train_acc=1.0, confident=0.5, ece=0.02, confidence=0.97):
    return MemorizeRow(seed, "mlp1x512", "digits", "labels", p, 0, p, train_acc, test_acc, train_acc - test_acc,
                       fit_epoch, fit_epoch and 11 * fit_epoch, 0.1, fit_epoch or 300, 1.0, 0.01, 0.1, 0.2, 1.0,
                       1347, 450, 10, regularizer=reg, ece=ece, confident_fraction=confident,
                       test_mean_confidence=confidence)


def _claims(rows):
    return {f.claim.split(":")[0]: f for f in regularizer_findings(rows, MemorizeConfig()).findings}


def test_regularizer_findings_follow_the_numbers():
    accs = (0.970, 0.965, 0.975)
    base = [_row("none", 0.0, s, a, ece=0.03, confidence=a + 0.03) for s, a in enumerate(accs)]
    base += [_row("none", 1.0, s, 0.1, fit_epoch=60) for s in range(3)]
    # the penalty: 1.0, 0.9, 1.1 points more accurate; ECE 0.010-0.012 against 0.030; 0.5 points over-confident
    cp = [_row("confidence-penalty", 0.0, s, a + d, confident=0.0, ece=e, confidence=a + d + 0.005)
          for s, (a, d, e) in enumerate(zip(accs, (0.010, 0.009, 0.011), (0.010, 0.012, 0.011)))]
    cp += [_row("confidence-penalty", 1.0, s, 0.1, fit_epoch=None, train_acc=0.6) for s in range(3)]
    by = _claims(base + cp)
    # harm of none against the best (the penalty): +1.0 points, 90% interval within 0.3 of it, under 5.15
    assert by["Explicit regularization is not necessary for generalization"].reproduced is True
    assert by["Regularization does not prevent memorization"].reproduced is False  # 60% train accuracy at p=1
    over = by["The confidence penalty lowers over-confidence"]
    # ECE differences -2.0, -1.8, -1.9 points: mean -1.9, SD 0.1, 95% half-width 4.303 x 0.1 / sqrt(3) = 0.25
    assert over.reproduced is True and "-1.9 points ± 0.2 (95% interval, 3 seeds)" in over.measured
    assert "calibration moved better, over-confident" in over.measured
    # error differences -1.0, -0.9, -1.1 points: the 95% interval -1.25 to -0.75 lies below 0 and below the 1 point
    assert by["The confidence penalty lowers test error against none (Pereyra's MNIST table"].reproduced is True
    assert by["The confidence penalty does not hurt test error against none (non-inferiority at 95%, paired by "
              "seed"].reproduced is True
    # a 6-point gain is more than Zhang's largest (90% interval 6 ± 0.4 points above 5.15): regularization needed
    big = _claims(base + [_row("augment", 0.0, s, a + d) for s, (a, d) in enumerate(zip(accs, (0.06, 0.059, 0.061)))])
    assert big["Explicit regularization is not necessary for generalization"].reproduced is False
    # the same mean gain with a seed spread that swallows it: the run cannot tell
    noisy = [_row("confidence-penalty", 0.0, s, a + d, confident=0.0) for s, (a, d) in
             enumerate(zip(accs, (0.04, -0.03, 0.02)))]
    unsure = _claims(base + noisy)["The confidence penalty lowers test error against none (Pereyra's MNIST table"]
    assert unsure.reproduced is None and "includes +0.00" in unsure.reason


def test_the_penalty_judged_by_calibration_error_and_harm_margin():
    accs = (0.970, 0.965, 0.975)
    base = [_row("none", 0.0, s, a, ece=0.10, confidence=a + 0.10) for s, a in enumerate(accs)]
    # ECE lower (0.04 against 0.10), but mean confidence 4 points under the accuracy, over 2 binomial SDs (1.6 points
    # at 97.9% on 450): under-confident does not pass
    under = [_row("confidence-penalty", 0.0, s, a, confident=0.0, ece=0.04, confidence=a - 0.04)
             for s, a in enumerate(accs)]
    f = _claims(base + under)["The confidence penalty lowers over-confidence"]
    assert f.reproduced is False and "calibration moved better, under-confident" in f.measured
    # a collapsed penalty: ECE 0.02 -> 0.5, no predictions at >= 0.99 (which the old rule counted as a pass)
    collapsed = [_row("confidence-penalty", 0.0, s, a - 0.30, confident=0.0, ece=0.5, confidence=0.2)
                 for s, a in enumerate(accs)]
    by = _claims(base + collapsed)
    assert by["The confidence penalty lowers over-confidence"].reproduced is False
    # 30 points more error in every seed: harm beyond the 1-point margin shown, so "does not hurt" is no
    assert by["The confidence penalty does not hurt test error against none (non-inferiority at 95%, paired by "
              "seed"].reproduced is False
    # two seeds, 8 and 62 points of harm (the quoted setting's spread): the run cannot tell, never yes
    two = [_row("confidence-penalty", 0.0, s, a - d) for s, (a, d) in enumerate(zip(accs, (0.08, 0.62)))]
    hurt = _claims(base[:2] + two)["The confidence penalty does not hurt test error against none (non-inferiority at "
                                   "95%, paired by seed"]
    assert hurt.reproduced is None and "straddles the margin +1.00" in hurt.reason
    # the unregularized network did not train (20%, under the floor 32.5%): every comparison with it is null
    dead = [_row("none", 0.0, s, 0.2) for s in range(3)] + under
    assert all(f.reproduced is None and "did not train" in f.reason for f in _claims(dead).values())


def test_arpit_dropout_hinders_noise_more_than_real_data():
    rows = [_row("none", 0.0, s, 0.97, fit_epoch=15) for s in range(3)]
    rows += [_row("none", 1.0, s, 0.1, fit_epoch=60) for s in range(3)]
    rows += [_row("dropout", 0.0, s, 0.97, fit_epoch=e) for s, e in enumerate((20, 21, 19))]  # ~1.33x
    slow = [_row("dropout", 1.0, s, 0.1, fit_epoch=e) for s, e in enumerate((240, 250, 230))]  # ~4x
    arpit = "Dropout hinders fitting noise more than learning real data, "
    f = next(f for f in regularizer_findings(rows + slow, MemorizeConfig()).findings if f.claim.startswith(arpit[:40]))
    assert f.reproduced and "random labels 4.00x" in f.measured
    same = [_row("dropout", 1.0, s, 0.1, fit_epoch=e) for s, e in enumerate((80, 84, 76))]  # ~1.33x too
    f = next(f for f in regularizer_findings(rows + same, MemorizeConfig()).findings if f.claim.startswith(arpit[:40]))
    assert f.reproduced is None  # the same 1.33x slowdown both ways in every seed: log ratio 0, interval [0, 0]


def test_cli_regularizer_sweep_with_noise_repeats_and_resume(cli, tmp_path):
    out = tmp_path / "r.json"
    args = ("--noise", "0,1", "--subset", "100", "--epochs", "3", "--repeats", "2", "-q", "-f", "json", "-o", out)
    first = json.loads(cli("memorize", "--regularizer", "none", *args).stdout)
    again = cli("memorize", "--regularizer", "none,wd,label-smoothing", "--resume", *args)
    assert again.exit_code == 0, again.stderr
    record = json.loads(again.stdout)
    assert [(r["regularizer"], r["noise"], r["seed"]) for r in record["rows"]] == [
        (reg, p, s) for reg in ("none", "wd", "label-smoothing") for p in (0.0, 1.0) for s in (0, 1)]
    assert [r["train_time_s"] for r in record["rows"][:4]] == [r["train_time_s"] for r in first["rows"]]  # reused
    assert record["config"]["regularizer"] == ["none", "wd", "label-smoothing"]
    assert all(0 <= r["ece"] <= 1 and sum(r["max_prob_hist"]) == 450 for r in record["rows"])
    assert "by_regularizer" in record["analysis"]


@pytest.mark.parametrize("args, message", [
    (("--regularizer", "none,wd", "--dropout", "0.3"), "--dropout: sets the strength of dropout, which"),
    (("--regularizer", "none,l2"), "--regularizer: must be a comma list of: none, wd"),
    (("--regularizer", "dropout", "--model", "densenet-bc-100-k12"), "--regularizer dropout: densenet-bc-100-k12 has"),
    (("--corruption", "gaussian", "--corrupt-test"), "--corrupt-test: corrupts test labels"),
])
def test_regularizer_options_refused_with_one_line(cli, args, message):
    result = cli("memorize", *args, "--quiet")
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_engine_rows_carry_the_regularizer_and_calibration():
    s = Recorder()
    run(MemorizeConfig(noise=(0.0,), subset=100, epochs=2, regularizer=("none", "confidence-penalty"), repeats=1),
        CPU, s)
    assert [r.regularizer for r in s.rows] == ["none", "confidence-penalty"]
    assert all(r.ece is not None and len(r.max_prob_hist) == 20 for r in s.rows)


def test_streamed_rows_without_calibration_say_so_rather_than_asking_for_seeds():
    # 3 seeds but no calibration figures (the streamed path): the note names the missing measurement, not --repeats
    rows = [_row(reg, 0.0, s, 0.97, confident=None, ece=None, confidence=None)
            for reg in ("none", "confidence-penalty") for s in range(3)]
    out = regularizer_findings(rows, MemorizeConfig())
    assert not any(f.claim.startswith("The confidence penalty lowers over-confidence") for f in out.findings)
    assert any("streamed path does not measure" in n for n in out.notes)
    assert not any("over-confidence verdict needs --repeats" in n for n in out.notes)
    # the test-error verdicts rest on accuracies, which streamed rows have: both still given (equal errors: no harm,
    # and no improvement shown either way with no spread: cannot tell)
    errs = [f for f in out.findings if f.claim.startswith("The confidence penalty")]
    assert [f.reproduced for f in errs] == [True, None]


def test_arpit_gives_no_verdict_when_dropout_does_not_fit_true_labels():
    # dropout at p=0 stopped unfit at epoch 20 (the cap): 20/15 understates its slowdown, so 240/60 over it would
    # overstate the ratio (3x); no verdict, a note instead
    rows = [_row("none", 0.0, s, 0.97, fit_epoch=15) for s in range(3)]
    rows += [_row("none", 1.0, s, 0.1, fit_epoch=60) for s in range(3)]
    rows += [_row("dropout", 0.0, s, 0.97, fit_epoch=None) for s in range(3)]
    rows += [_row("dropout", 1.0, s, 0.1, fit_epoch=240) for s in range(3)]
    for r in rows[6:9]:
        r.epochs_run = 20
    out = regularizer_findings(rows, MemorizeConfig())
    assert not any(f.claim.startswith("Dropout hinders") for f in out.findings)
    assert any("with dropout the true labels were not fit in every seed" in n for n in out.notes)
