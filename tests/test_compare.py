"""`deepgen compare A.json B.json`: rows matched by key; timings as ratios with medians and IQRs, accuracies as
differences with a 95% interval; changed verdicts first; exit 0 unless --fail-if-slower."""

import json

import pytest

from deepgen_cli.report.compare import difference_interval, quartiles


def test_quartiles_are_the_ones_latency_reports():
    assert quartiles([1, 2, 3, 4, 5]) == (2.0, 3.0, 4.0)
    assert quartiles([10, 12, 11, 13, 30, 9]) == (10.25, 11.5, 12.75)


def test_the_difference_interval_by_hand():
    # 90/100 vs 80/100, one success and one failure added to each: 91/102 and 81/102;
    # SE = sqrt(.89216 * .10784 / 102 + .79412 * .20588 / 102) = .050460; 1.96 SE = .098899
    low, high = difference_interval(0.9, 100, 0.8, 100)
    assert (round(low, 4), round(high, 4)) == (-0.1969, 0.0009)
    # 100% in both on 450 examples: not an empty interval (Wald's would be), +-1.96 * sqrt(2 * 451 / 452**3)
    low, high = difference_interval(1.0, 450, 1.0, 450)
    assert (round(low, 5), round(high, 5)) == (-0.00613, 0.00613)


def _record(path, command, rows, findings=(), **env):
    path.write_text(json.dumps({
        "schema": "deepgen.result/1", "command": command, "deepgen_version": "0.1.0", "time_utc": "t",
        "status": "complete", "seed": 0, "config": {}, "environment": {"device": "cpu", **env}, "rows": rows,
        "findings": [{"claim": c, "measured": m, "reproduced": r} for c, m, r in findings], "notes": [],
        "analysis": {}}))
    return path


def _efficiency(path, squeeze, mobile, device="cpu", verdict=True):
    rows = [{"model": m, "params": p, "latency_ms_median": sorted(s)[2], "latency_samples_ms": s}
            for m, p, s in (("squeezenet", 1248424, squeeze), ("mobilenet", 4231976, mobile))]
    return _record(path, "efficiency", rows, [("SqueezeNet has 50x fewer parameters than AlexNet", "48.9x", True),
                                              ("depthwise cuts 8 to 9 times", "8.56x", verdict)], device=device)


@pytest.fixture
def two_efficiency(tmp_path):
    a = _efficiency(tmp_path / "cpu.json", [10, 11, 12, 13, 14], [20, 21, 22, 23, 24])
    b = _efficiency(tmp_path / "gpu.json", [13, 14, 15, 16, 17], [21, 22, 23, 24, 25], device="cuda", verdict=False)
    return a, b


def test_efficiency_timings_are_ratios_of_medians_flagged_when_iqrs_overlap(cli, two_efficiency):
    result = cli("compare", *two_efficiency, "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    by = {(c["row"], c["quantity"]): c for c in out["changes"]}
    sq = by[("model=squeezenet", "latency ms")]
    assert (sq["a"], sq["b"], sq["ratio"], sq["a_iqr"], sq["b_iqr"]) == (12, 15, 1.25, [11, 13], [14, 16])
    assert sq["verdict"] == "slower"  # 14-16 lies above 11-13
    mb = by[("model=mobilenet", "latency ms")]
    assert mb["ratio"] == pytest.approx(23 / 22) and mb["verdict"] == "IQRs overlap"  # 21-23 vs 22-24
    assert by[("model=squeezenet", "params")]["ratio"] == 1.0
    # the verdict that changed is listed first, whatever the order in the records
    assert [f["status"] for f in out["findings"]] == ["verdict changed", "same verdict"]
    assert out["findings"][0]["a"]["claim"] == "depthwise cuts 8 to 9 times"


def test_the_table_shows_both_medians_and_iqrs(cli, two_efficiency):
    out = cli("compare", *two_efficiency).stdout
    line = next(line for line in out.splitlines() if "squeezenet" in line and "latency ms" in line)
    assert all(s in line for s in ("12.00", "15.00", "1.250x", "IQR 11-13 vs 14-16", "slower"))
    assert "verdict changed (yes -> no): depthwise cuts 8 to 9 times" in out
    assert "cpu.json: cpu" in out and "gpu.json: cuda" in out


@pytest.mark.parametrize("pct, code", [(10, 1), (24.9, 1), (25, 0), (60, 0)])
def test_fail_if_slower_gates_on_the_largest_latency_ratio(cli, two_efficiency, pct, code):
    result = cli("compare", *two_efficiency, "--fail-if-slower", pct, "-f", "csv")
    assert result.exit_code == code
    assert result.stdout.startswith("row,quantity,kind,a,b,ratio")  # the comparison is printed either way
    if code:
        assert result.stderr == (f"deepgen: error: --fail-if-slower {pct:g}: latency ms of model=squeezenet is 1.25x "
                                 f"A's (12 -> 15), more than {pct:g}% slower\n")


def test_fail_if_slower_with_no_latency_to_gate_on_is_a_usage_error(cli, tmp_path, two_efficiency):
    # memorize records hold no latency: a gate that cannot fail would pass a CI pipeline silently
    a, b = _memorize(tmp_path / "s0.json", (0.9, 0.12), seed=0), _memorize(tmp_path / "s1.json", (0.8, 0.3), seed=1)
    result = cli("compare", a, b, "--fail-if-slower", 10)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("deepgen: error: --fail-if-slower: no latency of A and B to compare (deepgen memorize "
                             "records hold no latency); drop it or compare efficiency records\n")
    # efficiency records whose rows do not match (another model in B): nothing compared, nothing to gate on
    record = json.loads(two_efficiency[1].read_text())
    for row in record["rows"]:
        row["model"] += "-v2"
    (tmp_path / "renamed.json").write_text(json.dumps(record))
    result = cli("compare", two_efficiency[0], tmp_path / "renamed.json", "--fail-if-slower", 10)
    assert result.exit_code == 2 and "have no matching rows with one" in result.stderr
    assert cli("compare", a, b).exit_code == 0  # without the gate, exit 0 as ever


def _memorize(path, accs, seed, verdict=True):
    rows = [{"model": "mlp1x512", "seed": seed, "corruption": "labels", "regularizer": "none", "noise": p,
             "test_accuracy": a,
             "train_accuracy": 1.0, "test_examples": 100, "train_examples": 300} for p, a in zip((0.0, 1.0), accs)]
    return _record(path, "memorize", rows, [("falls to chance", f"{accs[1]}", verdict),
                                            ("fits random labels", "100%", True)])


def test_memorize_accuracies_are_differences_with_a_binomial_interval(cli, tmp_path):
    a = _memorize(tmp_path / "s0.json", (0.9, 0.12), seed=0, verdict=True)
    b = _memorize(tmp_path / "s1.json", (0.8, 0.35), seed=1, verdict=False)
    out = json.loads(cli("compare", a, b, "-f", "json").stdout)
    by = {(c["row"], c["quantity"]): c for c in out["changes"]}
    clean = by[("corruption=labels, regularizer=none, noise=0.0", "test acc")]
    assert clean["difference"] == pytest.approx(-0.1)
    assert (round(clean["low"], 4), round(clean["high"], 4)) == (-0.1969, 0.0009)
    assert clean["verdict"] == "within noise"
    noisy = by[("corruption=labels, regularizer=none, noise=1.0", "test acc")]
    assert noisy["low"] > 0 and noisy["verdict"] == "differs"  # 12/100 vs 35/100
    assert by[("corruption=labels, regularizer=none, noise=0.0", "train acc")]["difference"] == 0.0
    assert ("corruption=labels, regularizer=none, noise=0.0", "seed") not in by  # a key field, not a quantity
    assert out["notes"] == ["rows matched regardless of seed (0 in A, 1 in B)"]
    assert [f["status"] for f in out["findings"]] == ["verdict changed", "same verdict"]


def test_rows_in_one_record_only_are_listed(cli, tmp_path):
    a = _memorize(tmp_path / "a.json", (0.9, 0.12), seed=0)
    record = json.loads(a.read_text())
    record["rows"] = record["rows"][:1]
    (tmp_path / "b.json").write_text(json.dumps(record))
    result = cli("compare", a, tmp_path / "b.json", "-f", "markdown")
    assert result.exit_code == 0
    assert "- rows only in A: corruption=labels, regularizer=none, noise=1.0, seed=0" in result.stdout


def test_records_of_two_commands_are_refused(cli, tmp_path, two_efficiency):
    m = _memorize(tmp_path / "m.json", (0.9, 0.1), seed=0)
    result = cli("compare", two_efficiency[0], m)
    assert result.exit_code == 2 and "compare records of one command" in result.stderr


def test_two_real_efficiency_runs_compare(cli, tmp_path):
    paths = []
    for name in ("a", "b"):
        paths.append(tmp_path / f"{name}.json")
        run = cli("efficiency", "--models", "squeezenet1_1@48,mobilenet:0.25@48", "--min-time", "0.01", "-q",
                  "-o", paths[-1], "-f", "csv")
        assert run.exit_code == 0, run.stderr
    out = json.loads(cli("compare", *paths, "-f", "json").stdout)
    by = {(c["row"], c["quantity"]): c for c in out["changes"]}
    for model in ("squeezenet1_1@48", "mobilenet:0.25@48"):
        assert by[(f"model={model}", "params")]["ratio"] == 1.0  # the same network
        assert by[(f"model={model}", "Mult-Adds")]["ratio"] == 1.0
        lat = by[(f"model={model}", "latency ms")]
        assert lat["ratio"] == pytest.approx(lat["b"] / lat["a"]) and lat["a_iqr"][0] <= lat["a"] <= lat["a_iqr"][1]
    assert all(f["status"] == "same verdict" for f in out["findings"])


def test_two_real_memorize_seeds_compare(cli, tmp_path):
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"s{seed}.json")
        run = cli("memorize", "--noise", "0,1", "--subset", "100", "--epochs", "3", "--seed", seed, "--repeats", "1", "-q",
                  "-o", paths[-1], "-f", "csv")
        assert run.exit_code == 0, run.stderr
    records = [json.loads(p.read_text()) for p in paths]
    out = json.loads(cli("compare", *paths, "-f", "json").stdout)
    test_acc = [c for c in out["changes"] if c["quantity"] == "test acc"]
    assert [c["row"] for c in test_acc] == ["corruption=labels, regularizer=none, noise=0.0", "corruption=labels, regularizer=none, noise=1.0"]
    for c, ra, rb in zip(test_acc, records[0]["rows"], records[1]["rows"]):
        assert (c["a"], c["b"]) == (ra["test_accuracy"], rb["test_accuracy"])
        assert c["low"] <= c["difference"] + 0.01 and c["high"] >= c["difference"] - 0.01


def test_two_real_memorize_runs_that_fit_compare_their_fit_times(cli, tmp_path, one_thread):
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"m{seed}.json"
        assert cli("memorize", "--noise", "0", "--subset", "120", "--seed", seed, "--repeats", "1", "-q", "-o",
                   out).exit_code == 0
        runs.append(out)
    assert json.loads(runs[0].read_text())["rows"][0]["fit_time_s"] is not None  # the row fit: a timing to compare
    result = cli("compare", *runs, "-f", "json")
    assert result.exit_code == 0, result.stderr
    fit = [c for c in json.loads(result.stdout)["changes"] if c["quantity"] == "s to 100%"]
    assert len(fit) == 1 and fit[0]["ratio"] > 0
