"""`deepgen memorize`: random labels are fit and test accuracy falls to chance; findings, formats and errors."""

import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch

from deepgen_cli.engine.memorize import MemorizeConfig, MemorizeRow, run
from deepgen_cli.engine.memorize.findings import findings
from tests.sessions import Recorder

SMALL = ("--subset", "300", "--repeats", "1", "--quiet")


def test_random_labels_are_fit_and_test_accuracy_is_near_chance():
    s = Recorder()
    outcome = run(MemorizeConfig(noise=(1.0,), subset=300, repeats=1), torch.device("cpu"), s)
    (row,) = s.rows
    assert row.train_examples == 300 and row.test_examples == 450 and row.corrupted_examples == 300
    assert row.fit_epoch is not None and row.train_accuracy == 1.0  # eval mode, every training example
    assert abs(row.test_accuracy - 0.1) < 0.06  # 450 test examples: binomial SD 1.4 points
    assert row.gap == pytest.approx(row.train_accuracy - row.test_accuracy)
    assert len(row.curve) == row.epochs_run == row.fit_epoch
    assert row.curve[-1]["train_accuracy"] == 1.0  # as trained, batch by batch
    claims = [f.claim for f in outcome.findings]
    assert any("fits random labels" in c for c in claims) and any("chance" in c for c in claims)


def _row(noise, test_acc, fit_epoch=10, train_acc=1.0, steps=None, seed=0, per_epoch=11):
    return MemorizeRow(seed, "mlp1x512", "digits", "labels", noise, 0, noise, train_acc, test_acc,
                       train_acc - test_acc, fit_epoch,
                       steps if steps is not None else (fit_epoch and per_epoch * fit_epoch),
                       fit_epoch and 0.1 * fit_epoch, fit_epoch or 300, 1.0, 0.01, 0.1, 0.2, 1.0, 1347, 450, 10)


CFG = SimpleNamespace(model="mlp1x512", corruption="labels", epochs=300, until_fit=True)


def _seeds(noise, accs, fits=(10, 10, 10), train_acc=1.0, per_epoch=11):
    return [_row(noise, a, f, train_acc, seed=s, per_epoch=per_epoch) for s, (a, f) in enumerate(zip(accs, fits))]


def _by(rows):
    return {f.claim.split(" (")[0]: f for f in findings(rows, CFG).findings}


def test_findings_are_computed_from_the_rows():
    rows = _seeds(0.0, (0.97, 0.965, 0.975)) + _seeds(0.5, (0.70, 0.72, 0.68), (30, 30, 30))
    by = _by(rows + _seeds(1.0, (0.10, 0.12, 0.11), (40, 44, 36)))
    assert by["mlp1x512 fits random labels"].reproduced is True
    # offsets from chance 0, 2, 1 points: mean 1, SD 1, one-sided t(2) = 2.920, so the 90% interval is 1 ± 1.69
    # points, inside the margin max(2, 3 x 1.41) = 4.24 points
    chance = by["Test accuracy falls to chance at p=1"]
    assert chance.reproduced is True and "90% interval -0.7 to +2.7 points" in chance.measured
    assert not chance.fragile  # 2.69 is 1.55 points from 4.24, over one standard error (0.58)
    assert by["Test error rises with the noise level p"].reproduced is True
    slow = by["Random labels take longer to fit than true data"]
    # the least ratios (p=1 an epoch, 11 steps, earlier): 429/110, 473/110, 385/110, all near 4x
    assert slow.reproduced is True and "440/110, 484/110, 396/110" in slow.measured
    assert "geometric mean 3.99x" in slow.measured


def test_chance_needs_seeds_a_fit_and_the_interval_inside_the_margin():
    clean = _seeds(0.0, (0.97, 0.965, 0.975))
    far = _by(clean + _seeds(1.0, (0.20, 0.22, 0.21), (40, 40, 40)))["Test accuracy falls to chance at p=1"]
    assert far.reproduced is False  # 10 to 12 points over chance: the 90% interval's low end 9.3 is past 4.24
    # one seed at 15% off by 5 points: the spread between random-label draws is unmeasured, so no false no
    one = _by([_row(0.0, 0.97), _row(1.0, 0.15, 40)])["Test accuracy falls to chance at p=1"]
    assert one.reproduced is None and "spread between random-label draws" in one.reason
    # offsets -5, +10, +2 points: SD 7.5, the 90% interval -10.3 to +15.0 reaches past the margin
    wide = _by(clean + _seeds(1.0, (0.05, 0.20, 0.12), (40, 40, 40)))["Test accuracy falls to chance at p=1"]
    assert wide.reproduced is None and "reaches past the margin" in wide.reason
    # an under-trained model (90% train accuracy) has not memorized: null, whatever its test accuracy
    unfit = _by(clean + _seeds(1.0, (0.10, 0.10, 0.10), (None,) * 3, 0.9))["Test accuracy falls to chance at p=1"]
    assert unfit.reproduced is None and "did not fit the random labels (train accuracy 90.0%)" in unfit.reason


def test_rise_falls_and_untrained_networks():
    clean = _seeds(0.0, (0.97, 0.965, 0.975))
    dip = _by(clean + _seeds(0.5, (0.60,) * 3) + _seeds(1.0, (0.65,) * 3))["Test error rises with the noise level p"]
    assert dip.reproduced is False  # error falls 5 points in every seed from p=0.5 to p=1
    # a network that learned nothing (12% at p=0, under the floor 10 + 0.25 x 90 = 32.5%): null, not a verdict
    flat = _by(_seeds(0.0, (0.12, 0.11, 0.12)) + _seeds(1.0, (0.10, 0.11, 0.09))
               )["Test error rises with the noise level p"]
    assert flat.reproduced is None and "under the trained floor 32.5%" in flat.reason


def test_slowdown_on_ten_images_cannot_say_yes():
    # one step an epoch: 4 vs 4, 4 vs 5, 4 vs 5 steps. Least ratios 3/4, 4/4, 4/4 (not above 1); most ratios 4/3, 5/3,
    # 5/3 (not below 1): the run cannot tell
    rows = _seeds(0.0, (0.5,) * 3, (4, 4, 4), per_epoch=1) + _seeds(1.0, (0.1,) * 3, (4, 5, 5), per_epoch=1)
    slow = _by(rows)["Random labels take longer to fit than true data"]
    assert slow.reproduced is None and "cannot tell" in slow.reason
    # the same 5 vs 4 steps in every seed: no spread, but the least ratio is 4/4, still not above 1
    same = _seeds(0.0, (0.5,) * 3, (4, 4, 4), per_epoch=1) + _seeds(1.0, (0.1,) * 3, (5, 5, 5), per_epoch=1)
    assert _by(same)["Random labels take longer to fit than true data"].reproduced is None
    # 9.9x in every seed is a slowdown (no upper bound: the paper gives none)
    big = _seeds(0.0, (0.97,) * 3, (10, 10, 10)) + _seeds(1.0, (0.1,) * 3, (99, 98, 100))
    assert _by(big)["Random labels take longer to fit than true data"].reproduced is True
    # random labels fit faster than true ones in every seed, even counting the epoch each count may overstate
    fast = _seeds(0.0, (0.97,) * 3, (20, 21, 22)) + _seeds(1.0, (0.1,) * 3, (10, 10, 11))
    assert _by(fast)["Random labels take longer to fit than true data"].reproduced is False


def test_no_verdict_for_claims_the_run_did_not_test():
    assert findings([_row(0.0, 0.97)], CFG).findings == []  # one clean level tests nothing
    half = findings([_row(0.5, 0.7, fit_epoch=None, train_acc=0.9)], CFG)
    assert [f.reproduced for f in half.findings] == [False]  # fits? no; chance and slowdown need p=1
    assert "not fit within 300 epochs" in half.notes[0]


def test_cli_json_sweep(cli, tmp_path):
    out = tmp_path / "m.json"
    result = cli("memorize", "--noise", "0,1", *SMALL, "--format", "json", "--output", out)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record == json.loads(out.read_text())
    assert record["command"] == "memorize" and record["config"]["noise"] == [0.0, 1.0]
    clean, noisy = record["rows"]
    assert clean["noise"] == 0.0 and clean["changed_fraction"] == 0.0 and clean["test_accuracy"] > 0.85
    assert noisy["train_accuracy"] >= 0.999 and noisy["fit_epoch"] > clean["fit_epoch"]
    assert noisy["curve"][0]["epoch"] == 1 and "train_loss" in noisy["curve"][0]
    claims = {f["claim"] for f in record["findings"]}
    # one seed (--repeats 1): the claims resting on intervals over seeds cannot tell, and say why
    assert len(claims) == 4 and [f["reproduced"] for f in record["findings"]] == [True, None, None, None]
    assert all("needs --repeats 2" in f["reason"] for f in record["findings"][1:])


def test_cli_table_markdown_and_plot(cli, tmp_path):
    png = tmp_path / "m.png"
    table = cli("memorize", "--noise", "1", "--epochs", "2", *SMALL, "--plot", png)
    assert table.exit_code == 0, table.stderr
    assert "not reached" in table.stdout and "mlp1x512" in table.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = cli("memorize", "--noise", "1", "--epochs", "2", *SMALL, "--format", "markdown")
    assert md.stdout.startswith("| model | seed | corruption | p |")


@pytest.mark.parametrize("args, flag", [
    (("--noise", "half"), "--noise"), (("--noise", "1.5"), "--noise"), (("--corruption", "blur"), "--corruption"),
    (("--model", "nope"), "--model"), (("--dataset", "cifar10"), "--data-dir"), (("--amp", "fp8"), "--amp"),
    (("--corruption", "random-labels", "--noise", "0.5"), "--noise"), (("--dropout", "0.5", "--model", "cnn",
                                                                        "--threads", "0"), "--threads"),
])
def test_bad_options_exit_2_with_one_line(cli, args, flag):
    result = cli("memorize", *args, "--quiet")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and flag in result.stderr


def test_missing_dataset_files_exit_1_naming_download(cli, tmp_path):
    result = cli("memorize", "--dataset", "mnist", "--data-dir", tmp_path, "--quiet")
    assert result.exit_code == 1 and result.stdout == ""
    assert "MNIST/raw" in result.stderr and "--download" in result.stderr


def test_a_diverged_level_is_a_failed_row_and_the_run_exits_1(cli, tmp_path):
    out = tmp_path / "d.json"
    result = cli("memorize", "--noise", "0,1", "--lr", "1e30", "--subset", "100", "--epochs", "3", "--repeats", "1",
                 "-q", "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("deepgen: error: 2 of 2 rows failed; first: p=0: training diverged in epoch ")
    assert result.stderr.endswith("(loss nan); lower --lr\n") and result.stderr.count("\n") == 1
    record = json.loads(out.read_text())
    assert [(r["noise"], "diverged" in r["error"]) for r in record["rows"]] == [(0.0, True), (1.0, True)]
    assert record["findings"] == [] and "error" in result.stdout  # the table grows an error column


def test_synthetic_data_of_any_shape_and_class_count(cli):
    result = cli("memorize", "--dataset", "synthetic", "--synthetic-shape", "3x8x8", "--synthetic-classes", "4",
                 "--synthetic-examples", "60,40", "--model", "cnn", "--noise", "1", "--epochs", "2", "--repeats", "1",
                 "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    (row,) = record["rows"]
    assert (row["num_classes"], row["train_examples"], row["test_examples"]) == (4, 60, 40)
    assert record["config"]["synthetic_shape"] == [3, 8, 8]


TIMES = ("fit_time_s", "train_time_s", "seconds")


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def test_same_seed_same_numbers_and_repeats_report_mean_and_sd(cli):
    args = ("memorize", "--noise", "0.5", "--subset", "200", "--epochs", "4", "--repeats", "2", "-q", "-f", "json")
    first, second = (json.loads(cli(*args).stdout) for _ in range(2))
    assert _untimed(first["rows"]) == _untimed(second["rows"])  # CPU, one thread: bit for bit
    assert [r["seed"] for r in first["rows"]] == [0, 1]
    a, b = (r["test_accuracy"] for r in first["rows"])
    spread = first["analysis"]["by_noise"]["0.5"]
    assert spread["seeds"] == [0, 1] and spread["test_accuracy"]["mean"] == pytest.approx((a + b) / 2)
    assert spread["test_accuracy"]["sd"] == pytest.approx(abs(a - b) / 2 ** 0.5)  # SD of two values
    other = json.loads(cli(*args, "--seed", "5").stdout)
    assert [r["seed"] for r in other["rows"]] == [5, 6] and other["rows"][0]["curve"] != first["rows"][0]["curve"]


def test_the_record_holds_the_threads_the_rows_ran_on(cli):
    record = json.loads(cli("memorize", "--noise", "1", "--subset", "50", "--epochs", "1", "--threads", "1",
                            "--repeats", "1",                            "-q", "-f", "json").stdout)
    assert record["environment"]["threads"] == 1 and record["config"]["threads"] == 1
    assert {"python", "torch", "torchvision", "device", "device_name"} <= set(record["environment"])
    assert record["seed"] == 0 and record["config"]["noise"] == [1.0]


def test_resume_reuses_levels_already_measured(cli, tmp_path):
    out = tmp_path / "r.json"
    args = ("--subset", "100", "--epochs", "3", "--repeats", "1", "-q", "-f", "json", "-o", out)
    first = json.loads(cli("memorize", "--noise", "0", *args).stdout)
    again = json.loads(cli("memorize", "--noise", "0,1", "--resume", *args).stdout)
    # the p=0 row is the saved one (its timing would differ if it were measured again); p=1 is new
    assert again["rows"][0]["train_time_s"] == first["rows"][0]["train_time_s"]
    assert [r["noise"] for r in again["rows"]] == [0.0, 1.0]
    kept = out.read_text()
    other = cli("memorize", "--noise", "0", "--resume", "--lr", "0.05", *args)
    # another config: refused, naming the field, and the record's measured rows are kept as they were
    assert other.exit_code == 2 and "lr" in other.stderr and other.stdout == ""
    assert out.read_text() == kept


def test_the_curve_holds_test_accuracy_and_the_table_the_epochs_run(cli, one_thread):
    import json as json_mod

    result = cli("memorize", "--noise", "1", "--subset", "200", "--epochs", "6", "--no-until-fit", "--eval-every", "2",
                 "--repeats", "1",
                 "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    row = json_mod.loads(result.stdout)["rows"][0]
    tests = [c["test_accuracy"] for c in row["curve"]]
    assert [t is not None for t in tests] == [False, True, False, True, False, True]
    best = max(t for t in tests if t is not None)
    assert row["best_test_accuracy"] == best and tests[row["best_test_epoch"] - 1] == best
    table = cli("memorize", "--noise", "1", "--subset", "200", "--epochs", "6", "--no-until-fit", "--repeats", "1",
                "-q").stdout
    assert "epochs run" in table and "s run" in table
