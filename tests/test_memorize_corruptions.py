"""`memorize --corruption A,B,...`: one row set per corruption, shuffled pixels scored on shuffled test images,
the corruption-order and slowdown findings, and verdict wording that names what the run tested."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

from deepgen_cli.engine.memorize import MemorizeConfig, MemorizeRow, plan, run
from deepgen_cli.engine.memorize.corruptions import corruption_findings, start_epoch
from deepgen_cli.engine.memorize.findings import findings
from tests.sessions import Recorder

CPU = torch.device("cpu")


def test_a_corruption_list_gives_one_row_set_per_corruption(one_thread):
    s = Recorder()
    config = MemorizeConfig(corruption=("labels", "gaussian", "random-labels"), noise=(0.0, 1.0), subset=100,
                            epochs=2, repeats=2)
    outcome = run(config, CPU, s)
    expected = [(k, p, seed) for k in ("labels", "gaussian") for p in (0.0, 1.0) for seed in (0, 1)]
    expected += [("random-labels", 1.0, 0), ("random-labels", 1.0, 1)]  # random labels is p=1 alone
    assert [(r.corruption, r.noise, r.seed) for r in s.rows] == expected
    assert [(k, r, p, seed) for k, r, p, seed in plan(config.resolved())] == [
        (k, "none", p, seed) for k, p, seed in expected]
    assert set(outcome.analysis["groups"]) == {"labels/none", "gaussian/none", "random-labels/none"}


def test_an_mlp_scores_shuffled_pixels_as_it_scores_real_ones(one_thread):
    # Fully connected layers do not see pixel order: with the test images shuffled by the training permutation
    # (Zhang et al.), an MLP's test accuracy is the unshuffled one up to training noise. 450 test images at ~97%:
    # a binomial SD of 0.8 points; 3 points is more than 3 SD.
    s = Recorder()
    run(MemorizeConfig(corruption=("shuffled-pixels",), noise=(0.0, 1.0), repeats=1), CPU, s)
    plain, shuffled = s.rows
    assert shuffled.test_corrupted == 450 and plain.test_corrupted == 0
    assert plain.test_accuracy > 0.9 and abs(shuffled.test_accuracy - plain.test_accuracy) < 0.03


def test_cli_corruptions_json_and_plot(cli, tmp_path):
    png = tmp_path / "c.png"
    result = cli("memorize", "--corruption", "labels,random-pixels", "--noise", "0,1", "--subset", "150",
                 "--epochs", "3", "--repeats", "1", "-q", "-f", "json", "--plot", png)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["config"]["corruption"] == ["labels", "random-pixels"] and record["config"]["corrupt_test"] is False
    assert [(r["corruption"], r["noise"]) for r in record["rows"]] == [
        ("labels", 0.0), ("labels", 1.0), ("random-pixels", 0.0), ("random-pixels", 1.0)]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(c["claim"].startswith("random-pixels: ") for c in record["findings"])  # claims name their corruption


def test_corrupt_test_is_recorded_and_drops_the_clean_test_claims(cli):
    record = json.loads(cli("memorize", "--noise", "0,1", "--corrupt-test", "--subset", "100", "--epochs", "2",
                            "--repeats", "1", "-q", "-f", "json").stdout)
    assert record["config"]["corrupt_test"] is True
    assert [r["test_corrupted"] for r in record["rows"]] == [0, 450]
    assert not any("chance" in f["claim"] for f in record["findings"])
    assert any("--corrupt-test" in n for n in record["notes"])


def _row(kind, p, seed, fit_epoch, losses, reg="none"):
    curve = [{"epoch": i + 1, "train_loss": v, "train_accuracy": 0.5, "lr": 0.1, "seconds": 0.1}
             for i, v in enumerate(losses)]
    test = 0.97 if p == 0 else 0.1  # true labels train a network far above the trained floor (32.5%)
    return MemorizeRow(seed, "mlp1x512", "digits", kind, p, 0, p, 1.0, test, 1 - test, fit_epoch, 10 * fit_epoch,
                       0.1, fit_epoch, 1.0, 0.01, 0.1, 0.2, 1.0, 1347, 450, 10, curve=curve, regularizer=reg)


def test_start_epoch_is_the_first_below_half_of_ln_classes():
    # ln(10) / 2 = 1.151 nats
    assert start_epoch(_row("labels", 1.0, 0, 4, [2.3, 1.2, 1.15, 0.2])) == 3
    assert start_epoch(_row("labels", 1.0, 0, 4, [2.3, 2.2])) is None


def test_corruption_order_finding_follows_the_numbers():
    true = [_row("labels", 0.0, s, 10, [1.0, 0.5]) for s in range(3)]
    labels = [_row("labels", 1.0, s, 60, [2.3] * (20 + s) + [1.0]) for s in range(3)]  # below at 21, 22, 23
    gauss = [_row("gaussian", 1.0, s, 15, [2.3] * (5 + s) + [1.0]) for s in range(3)]  # below at 6, 7, 8
    out = corruption_findings(true + labels + gauss, None, {"labels": "none", "gaussian": "none"})
    (f,) = out.findings
    assert f.reproduced and "gaussian - labels: -15.0 epochs ± 0.0" in f.measured
    assert out.analysis["fit_order"] == ["true labels", "gaussian", "labels"]
    assert out.analysis["by_corruption"]["labels"]["slowdown"]["mean"] == pytest.approx(6.0)
    late = [_row("gaussian", 1.0, s, 15, [2.3] * (20 + s) + [1.0]) for s in range(3)]  # same start as labels
    assert corruption_findings(true + labels + late, None, {"labels": "none", "gaussian": "none"}
                               ).findings[0].reproduced is None  # no difference in any seed: the interval is [0, 0]
    one_seed = corruption_findings(true[:1] + labels[:1] + gauss[:1], None, {"labels": "none", "gaussian": "none"})
    (alone,) = one_seed.findings  # one seed: cannot tell, with the reason, and the order in what it measured
    assert alone.reproduced is None and alone.reason.startswith("needs --repeats 2")
    assert "Order: true labels: fit at epoch 10, loss below ln(K)/2 at epoch 1" in alone.measured


def test_corruption_order_cannot_tell_when_an_image_corruption_never_starts_or_nothing_trained():
    true = [_row("labels", 0.0, s, 10, [1.0, 0.5]) for s in range(3)]
    labels = [_row("labels", 1.0, s, 60, [2.3] * (20 + s) + [1.0]) for s in range(3)]
    never = [_row("gaussian", 1.0, s, 30, [2.3] * 30) for s in range(3)]  # never under ln(10)/2 = 1.15
    for r in never:
        r.fit_epoch = r.fit_steps = None  # nor fit in its 30 epochs
    (f,) = corruption_findings(true + labels + never, None, {"labels": "none", "gaussian": "none"}).findings
    assert f.reproduced is None and f.reason.startswith("gaussian did not bring the training loss below")
    assert f.measured.startswith("Order: ")  # no difference to show for an arm with no start
    untrained = [_row("labels", 0.0, s, 10, [1.0, 0.5]) for s in range(3)]
    for r in untrained:
        r.test_accuracy = 0.1  # at chance: under the trained floor, 32.5% on 10 classes
    gauss = [_row("gaussian", 1.0, s, 15, [2.3] * (5 + s) + [1.0]) for s in range(3)]
    (g,) = corruption_findings(untrained + labels + gauss, None, {"labels": "none", "gaussian": "none"}).findings
    assert g.reproduced is None and "did not train: test accuracy 10.0%" in g.reason


def test_fit_verdict_names_the_corruption_and_level_and_the_fit_epoch():
    cfg = SimpleNamespace(model="mlp1x512", epochs=150, until_fit=False)
    half = _row("labels", 0.5, 0, 97, [1.0])
    half.epochs_run = 150
    fit = findings([half], cfg).findings[0]
    assert fit.claim.startswith("mlp1x512 fits labels with a fraction p=0.5 redrawn (labels at p=0.5;")
    assert "random labels" not in fit.claim and "fit at epoch 97 of 150 epochs run" in fit.measured
    shuffled = findings([_row("shuffled-pixels", 1.0, 0, 30, [1.0])], cfg).findings[0]
    assert shuffled.claim.startswith("mlp1x512 fits shuffled pixels (shuffled-pixels at p=1;")


def test_slowdown_factor_per_level_with_seed_spread():
    cfg = SimpleNamespace(model="mlp1x512", epochs=300, until_fit=True)
    rows = [_row("labels", p, s, e, [1.0]) for p, es in ((0.0, (10, 10)), (0.5, (30, 40)), (1.0, (40, 60)))
            for s, e in enumerate(es)]
    slow = next(f for f in findings(rows, cfg).findings if "take longer" in f.claim)
    # per seed: p=0.5 3x and 4x (mean 3.5, SD 0.71), p=1 4x and 6x (mean 5, SD 1.41)
    assert "p=0.5: 3.50x ± 0.71, p=1: 5.00x ± 1.41" in slow.measured
    # two seeds: least ratios 390/100 and 590/100, log mean 1.57, SD 0.29; t(1) = 12.706 puts the 95% interval's low
    # end at 1.57 - 2.63 < 0: the run cannot tell
    assert slow.reproduced is None and "cannot tell" in slow.reason
    huge = [_row("labels", p, s, e, [1.0]) for p, es in ((0.0, (10, 10)), (1.0, (120, 130))) for s, e in enumerate(es)]
    assert next(f for f in findings(huge, cfg).findings if "take longer" in f.claim).reproduced  # 12.5x: no upper bound
    assert math.isclose(findings(huge, cfg).analysis["slowdown_by_noise"]["1"]["mean"], 12.5)
    # Zhang et al. claim the slowdown for random labels only: image noise gets its factors as a note, no verdict
    gauss = [_row("gaussian", p, s, e, [1.0]) for p, es in ((0.0, (10, 10)), (1.0, (8, 9))) for s, e in enumerate(es)]
    out = findings(gauss, cfg)
    assert not any("take longer" in f.claim for f in out.findings)
    assert any("p=1: 0.85x ± 0.07" in n for n in out.notes)  # 0.8 and 0.9


def test_corruption_order_needs_every_image_noise_seed_to_start():
    true = [_row("labels", 0.0, s, 10, [1.0, 0.5]) for s in range(3)]
    labels = [_row("labels", 1.0, s, 60, [2.3] * (20 + s) + [1.0]) for s in range(3)]  # below at 21, 22, 23
    # seed 2 of gaussian never got below 1.151 nats: skipping it would leave 2 seeds that favour the claim
    gauss = [_row("gaussian", 1.0, s, 15, [2.3] * (5 + s) + [1.0]) for s in range(2)]
    gauss.append(_row("gaussian", 1.0, 2, 15, [2.3] * 30))
    out = corruption_findings(true + labels + gauss, None, {"labels": "none", "gaussian": "none"})
    (unsure,) = out.findings
    assert unsure.reproduced is None and "gaussian did not bring the training loss below" in unsure.reason
    # random labels that never start count their epochs run + 1 (here 26, 26, 26): gaussian 6, 7, 8 is 19 earlier
    stuck = [_row("labels", 1.0, s, 25, [2.3] * 25) for s in range(3)]
    good = [_row("gaussian", 1.0, s, 15, [2.3] * (5 + s) + [1.0]) for s in range(3)]
    (f,) = corruption_findings(true + stuck + good, None, {"labels": "none", "gaussian": "none"}).findings
    assert f.reproduced and "gaussian - labels: -19.0 epochs ± 2.5" in f.measured
