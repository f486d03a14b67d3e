"""`reuse` engine: per-source weight slicing of dense layers, the four Figure 5 verdicts, the DenseNet models."""

import json
import math

import pytest
import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.models.densenet import DenseNet, source_slices
from deepgen_cli.engine.reuse import ReuseConfig, run
from deepgen_cli.engine.reuse.controls import CONTROLS
from deepgen_cli.engine.reuse.findings import (CLAIMS, CONSISTENT, USED, argmax_verdict, block_input_least,
                                               classifier_chance, classifier_focus, early_use, findings,
                                               threshold_verdict, trained_floor, transition_spread)
from deepgen_cli.engine.stats import binomial_upper_tail
from deepgen_cli.engine.reuse.weights import block_weights, per_source
from tests.sessions import Recorder


def tiny() -> DenseNet:
    # stem 3 maps; block 1: layers read (3), (3, 2); its output (3, 2, 2) = 7 maps -> transition 7 -> 7;
    # block 2: layers read (7), (7, 2); output (7, 2, 2) = 11 maps -> classifier
    return DenseNet((2, 2), growth=2, num_classes=2, in_channels=1, stem=3)


def by_channel(shape, values) -> torch.Tensor:
    """A weight whose input channel c holds values[c] everywhere (any sign: the cells use |w|)."""
    w = torch.tensor(values, dtype=torch.float32).reshape(1, -1, *[1] * (len(shape) - 2))
    return w.expand(shape).clone()


def test_source_slices_follow_the_concatenation_order():
    assert source_slices((16, 12, 12)) == [slice(0, 16), slice(16, 28), slice(28, 40)]
    model = tiny()
    assert [layer.sources for layer in model.blocks[0].layers] == [(3,), (3, 2)]
    assert model.blocks[1].sources == (7, 2, 2) and model.transitions[0].sources == (3, 2, 2)
    # the input channels a layer reads at sources[s] are exactly what source s produced
    seen = {}
    first, second = model.blocks[1].layers
    first.register_forward_hook(lambda m, i, o: seen.update(first_out=o))
    second.register_forward_hook(lambda m, i, o: seen.update(second_in=i[0]))
    model.transitions[0].register_forward_hook(lambda m, i, o: seen.update(block_in=o))
    model.eval()(torch.randn(2, 1, 8, 8))
    block_input, from_first = source_slices(second.sources)
    assert torch.equal(seen["second_in"][:, block_input], seen["block_in"])
    assert torch.equal(seen["second_in"][:, from_first], seen["first_out"])


def test_known_weights_give_known_cells():
    model = tiny()
    with torch.no_grad():
        layer2 = model.blocks[0].layers[1].conv  # (2 out, 5 in, 3, 3): block input = channels 0-2, layer 1 = 3-4
        layer2.weight.copy_(by_channel(layer2.weight.shape, [1.0, -3.0, 2.0, 0.5, -1.5]))
        trans = model.transitions[0].conv  # (7, 7, 1, 1): sources (3, 2, 2)
        trans.weight.copy_(by_channel(trans.weight.shape, [0.1, 0.2, 0.3, -4.0, 0.0, 1.0, 1.0]))
        fc = model.classifier  # (2, 11): sources (7, 2, 2)
        fc.weight.copy_(by_channel(fc.weight.shape, [0.7] * 7 + [0.0, 0.2, -0.9, 0.9]))
    blocks = block_weights(model)
    assert [b.targets for b in blocks] == [["1", "2", "transition"], ["1", "2", "classifier"]]
    one, two = blocks
    # |1| |-3| |2| average to 2; |0.5| |-1.5| to 1
    assert one.columns[1] == pytest.approx([2.0, 1.0])
    # (0.1 + 0.2 + 0.3) / 3 = 0.2; (4 + 0) / 2 = 2; (1 + 1) / 2 = 1
    assert one.columns[2] == pytest.approx([0.2, 2.0, 1.0])
    assert one.normalized()[2] == pytest.approx([0.1, 1.0, 0.5])
    assert two.columns[2] == pytest.approx([0.7, 0.1, 0.9])
    assert one.matrix()[2] == [None, None, pytest.approx(1.0)]  # source 2 (layer 2) feeds only the transition


def test_a_weight_that_does_not_match_its_sources_is_refused():
    with pytest.raises(ValueError, match="cover 5 input channels, the weight has 4"):
        per_source(torch.zeros(2, 4, 3, 3), (3, 2))


def paper_like(blocks=3, layers=4):
    """Columns as Figure 5 shows them: every source used, block inputs of blocks 2+ weighed least, the
    classifier strongest on the last layer."""
    out = []
    for b in range(blocks):
        cols = [[0.6 if (b and s == 0) else 1.0 - 0.05 * (t - s) for s in range(t + 1)] for t in range(layers)]
        cols.append([0.5 + 0.1 * s for s in range(layers + 1)])  # transition / classifier: 0.5 .. 0.9
        cols[-1][-1] = 1.0
        out.append(cols)
    return out


def test_the_four_statistics_on_a_paper_like_network():
    blocks = paper_like()
    assert early_use(blocks) == pytest.approx(0.9)  # layer 4 reads layer 1 at 1.0 - 0.05 * 2, in every block
    assert transition_spread(blocks) == pytest.approx(0.5)  # both transitions weigh the block input 0.5
    assert block_input_least(blocks) == 1.0  # blocks 2 and 3, layers 2-4: 6 of 6
    assert classifier_focus(blocks) is True and classifier_chance(blocks) == 0.25  # last 1 of 4 layers


@pytest.mark.parametrize("change,broken", [
    (lambda bl: bl[1][3].__setitem__(1, 0.2), 0),  # block 2's deepest layer ignores layer 1
    (lambda bl: bl[0][4].__setitem__(2, 0.1), 1),  # the first transition ignores layer 2
    (lambda bl: [bl[b][t].__setitem__(0, 1.0) for b in (1, 2) for t in (1, 2)], 2),  # inputs not least: 2/6
    (lambda bl: bl[2][4].__setitem__(1, 1.1), 3),  # the classifier weighs layer 1 most
    (lambda bl: bl[2][4].__setitem__(0, 0.2), 3),  # the classifier ignores the block input
])
def test_each_observation_can_fail(change, broken):
    blocks = paper_like()
    change(blocks)
    held = [early_use(blocks) >= USED, transition_spread(blocks) >= USED, block_input_least(blocks) >= CONSISTENT,
            classifier_focus(blocks)]
    assert held == [i != broken for i in range(4)]


def test_binomial_upper_tail():
    assert binomial_upper_tail(3, 3, 0.25) == pytest.approx(1 / 64)
    assert binomial_upper_tail(2, 3, 0.25) == pytest.approx(10 / 64)  # 3 * (1/4)^2 * 3/4 + 1/64
    assert binomial_upper_tail(3, 4, 0.25) == pytest.approx(13 / 256)  # 4 * (1/4)^3 * 3/4 + 1/256
    assert binomial_upper_tail(0, 3, 0.25) == 1.0


@pytest.mark.parametrize("trained,verdict,fragile", [
    # mean 0.9, sd 0.1: one-sided bounds 0.9 -+ 2.920 * 0.1 / sqrt(3) = 0.731..1.069, straddling 0.75
    ([0.8, 0.9, 1.0], None, False),
    # sd 0.05: lower bound 0.816 >= 0.75, 0.066 above it (se 0.029); the change +0.5 +- 0.05 is above 0
    ([0.85, 0.9, 0.95], True, False),
    ([0.4, 0.5, 0.6], False, False),  # upper bound 0.669 < 0.75, 0.081 below (se 0.058)
    ([0.45, 0.55, 0.65], False, True),  # upper bound 0.719: within one se (0.058) of 0.75
])
def test_threshold_verdict(trained, verdict, fragile):
    got, measured, reason, frag = threshold_verdict(trained, [0.3, 0.4, 0.5], 0.75)
    assert (got, frag) == (verdict, fragile) and bool(reason) == (verdict is None)


def test_threshold_verdict_cannot_tell_when_the_initial_weights_hold_or_with_one_seed():
    got, _, reason, _ = threshold_verdict([0.85, 0.9, 0.95], [0.9, 0.95, 1.0], 0.25)
    assert got is None and reason.startswith("holds at the initial weights too (mean 0.95 >= 0.25)")
    assert threshold_verdict([0.9], [0.3], 0.75)[0] is None
    # but a trained network that clearly misses the threshold is a no whatever its initialization did
    assert threshold_verdict([0.1, 0.12, 0.14], [0.9, 0.95, 1.0], 0.25)[0] is False


@pytest.mark.parametrize("trained,initial,verdict,fragile,p", [
    ([True] * 3, [False] * 3, True, False, "p = 0.016"),  # (1/4)^3
    ([True, True, False], [False] * 3, None, False, "p = 0.156"),  # 10/64: beyond chance's 0.75 hits, not at 95%
    ([True, False, False], [False] * 3, None, False, "p = 0.578"),
    ([False] * 3, [False] * 3, False, False, "p = 1.000"),  # no more often than chance
    ([True] * 3, [True] * 3, None, False, "p = 0.016"),  # initialization passes too
    ([True] * 2, [False] * 2, None, False, "p = 0.062"),  # 2 seeds: cannot pass whatever they show
    ([True] * 3 + [False], [False] * 4, None, True, "p = 0.051"),  # 13/256, within 2x of 0.05: fragile
])
def test_argmax_verdict(trained, initial, verdict, fragile, p):
    got, measured, reason, frag = argmax_verdict(trained, initial, 0.25)
    assert (got, frag) == (verdict, fragile) and p in measured and bool(reason) == (verdict is None)


def jitter(blocks, seed, scale=0.02):
    """The same columns with each cell moved by a small seeded amount (columns renormalized to a largest 1)."""
    import random

    rng = random.Random(seed)
    out = [[[v * (1 - scale * rng.random()) for v in col] for col in cols] for cols in blocks]
    return [[[v / max(col) for v in col] for col in cols] for cols in out]


def initial_like(seed):
    """Columns as initialization leaves them: every cell near 1, the block input in the middle of its column."""
    return jitter([[[0.97 + 0.01 * ((s + t) % 3) for s in range(t + 1)] for t in range(5)] for _ in range(3)], seed)


def test_a_paper_like_network_over_three_seeds_against_its_initial_weights():
    trained = [jitter(paper_like(), s) for s in range(3)]
    found = findings(trained, [initial_like(s) for s in range(3)], [0.97, 0.96, 0.98], classes=10)
    assert [f.claim for f in found] == list(CLAIMS)
    # 1, 2: initialization's cells near 1 clear 0.25 as well: the weights cannot show these were learned
    assert [f.reproduced for f in found] == [None, None, True, True]
    assert all("holds at the initial weights too" in f.reason for f in found[:2])
    assert "trained 1.00, 1.00, 1.00" in found[2].measured and "3/3 trained networks (p = 0.016" in found[3].measured


def test_every_verdict_cannot_tell_when_a_trained_network_did_not_learn():
    trained = [jitter(paper_like(), s) for s in range(3)]
    found = findings(trained, [initial_like(s) for s in range(3)], [0.093, 0.96, 0.98], classes=10)
    assert [f.reproduced for f in found] == [None] * 4 and not any(f.fragile for f in found)
    assert all(f.reason.startswith("1 of 3 trained networks under the test-accuracy floor 55% (halfway from chance "
                                   "10% to 100%): 9.3%") for f in found)
    assert trained_floor(2) == 0.75


def test_uniform_weights_show_no_learned_pattern():
    uniform = [[[1.0] * (t + 1) for t in range(5)] for _ in range(3)]
    found = findings([uniform] * 3, [uniform] * 3, [0.97] * 3, classes=10)
    # 1, 2 hold at initialization too; 3: a tie is no least source (0 of 6); 4: the argmax of a tie is the block input
    assert [f.reproduced for f in found] == [None, None, False, False]


def test_one_block_gets_the_verdicts_it_can_have():
    (block,) = paper_like(blocks=1)
    assert transition_spread([block]) is None and block_input_least([block]) is None
    found = findings([[block]] * 3, [initial_like(s)[:1] for s in range(3)], [0.9] * 3, classes=10)
    assert [f.claim.split(" (")[0][:10] for f in found] == ["Deep layer", "The classi"]


def test_densenet_bc_100_k12_has_769_162_params():
    assert measure.count_params(models.create("densenet-bc-100-k12")) == 769_162  # Huang et al. Table 2: 0.8M


def test_densenet_40_k12_has_1_019_722_params():
    # Huang et al. Table 2: DenseNet (L=40, k=12) 1.0M. By hand, no conv biases, BN = 2 per channel:
    # stem 3*16*9 = 432. Block inputs 16, 160, 304 maps; layer i of a block reads c0 + 12 i maps:
    #   block sums of c0 + 12 i over i = 0..11: 984, 2712, 4440 -> convs 108 * sum, BNs 2 * sum
    #   = 106,272 + 1,968; 292,896 + 5,424; 479,520 + 8,880
    # transitions 160 -> 160 and 304 -> 304 (1x1): 25,600 + 320 and 92,416 + 608
    # final BN 2 * 448 = 896; classifier 448 * 10 + 10 = 4,490.  Total 1,019,722.
    model = models.create("densenet-40-k12")
    assert measure.count_params(model) == 1_019_722
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(len(b.layers) for b in model.blocks) == 36  # + stem + 2 transitions + classifier = 40


def test_densenet_small_is_three_blocks_of_four_for_8x8_digits():
    model = models.create("densenet-small", in_channels=1)
    assert [len(b.layers) for b in model.blocks] == [4, 4, 4]
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_a_tiny_run_has_rows_matrices_and_both_networks(one_thread):
    session = Recorder()
    out = run(ReuseConfig(epochs=1, subset=128, batch_size=32, repeats=1), torch.device("cpu"), session)
    # per network: 3 blocks x (1 + 2 + 3 + 4 + 5 sources over the 4 layers and the transition/classifier)
    assert len(session.rows) == 2 * 3 * 15
    assert {r.network for r in session.rows} == {"trained", "untrained"}
    first = [r for r in session.rows if r.network == "trained" and r.block == 1 and r.target == "transition"]
    assert [r.source for r in first] == [0, 1, 2, 3, 4] and max(r.normalized_weight for r in first) == 1.0
    # 4 steps leave the network near chance (under the 55% floor): every verdict cannot tell
    assert [f.claim for f in out.findings] == list(CLAIMS) and {f.reproduced for f in out.findings} == {None}
    assert all("under the test-accuracy floor" in f.reason for f in out.findings)
    assert {r.test_accuracy for r in first} == {out.analysis["runs"][0]["test_accuracy"]}
    nets = out.analysis["networks"]
    assert [len(c) for c in nets["trained"][2]["normalized"]] == [1, 2, 3, 4, 5]
    assert nets["untrained"][2]["targets"][-1] == "classifier"
    assert all(math.isfinite(v) for b in nets["trained"] for c in b["normalized"] for v in c)


def test_untrained_only_and_bad_options(one_thread):
    out = run(ReuseConfig(untrained=True, subset=64), torch.device("cpu"), Recorder())
    assert [f.claim for f in out.findings] == list(CLAIMS) and {f.reproduced for f in out.findings} == {None}
    assert all(f.reason.startswith("no trained network (--untrained)") for f in out.findings)
    assert "initial weights 0.96, 0.99, 1.00" in out.findings[0].measured  # seeds 0, 1, 2: 3 by default
    with pytest.raises(UsageError, match="--model: 'cnn' is not a dense network"):
        run(ReuseConfig(model="cnn"), torch.device("cpu"), Recorder())
    assert ReuseConfig(weights="w.pt").resolved().repeats == 1  # the default 3 seeds: one file is one network


def test_repeats_with_weights_is_a_usage_error(cli):
    result = cli("reuse", "--weights", "w.pt", "--repeats", "2")
    assert result.exit_code == 2 and "--repeats: one --weights file is one network; drop it" in result.stderr


def test_plot_draws_one_heat_map_per_block(tmp_path, one_thread):
    from deepgen_cli.report.plots.reuse import reuse_plot, square
    from deepgen_cli.report.record import Report

    assert square([[1.0], [0.5, 1.0]])[0] == [1.0, 0.5] and math.isnan(square([[1.0], [0.5, 1.0]])[1][0])
    report = Report("reuse", {}, {})
    report.analysis = run(ReuseConfig(untrained=True, subset=64), torch.device("cpu"), Recorder()).analysis
    reuse_plot(report, str(tmp_path / "f5.png"))
    assert (tmp_path / "f5.png").stat().st_size > 10_000


def test_a_weights_file_is_measured_instead_of_training(tmp_path, one_thread):
    model = models.create("densenet-small", in_channels=1)  # digits: 1 channel, 10 classes
    fc = model.classifier  # reads the last block: 112 input maps, then 4 layers x 12
    assert model.blocks[2].sources == (112, 12, 12, 12, 12)
    with torch.no_grad():
        fc.weight.copy_(by_channel(fc.weight.shape, [1.0] * 148 + [-2.0] * 12))
    torch.save(model.state_dict(), tmp_path / "w.pt")
    out = run(ReuseConfig(weights=str(tmp_path / "w.pt"), subset=64), torch.device("cpu"), Recorder())
    assert out.analysis["networks"]["trained"][2]["normalized"][-1] == [0.5, 0.5, 0.5, 0.5, 1.0]
    assert "trained weights loaded from" in out.notes[1]


def test_resume_reuses_each_seeds_trained_network_and_trains_only_the_new_seeds(cli, tmp_path, one_thread):
    out = tmp_path / "r.json"
    args = ("reuse", "--epochs", "1", "--subset", "128", "--batch-size", "32", "-q", "-o", out)
    assert cli(*args, "--repeats", "1").exit_code == 0
    first = json.loads(out.read_text())
    more = cli(*args, "--repeats", "2", "--resume", "-f", "json")
    assert more.exit_code == 0, more.stderr
    second = json.loads(more.stdout)
    runs = second["analysis"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and runs[0].get("resumed") and "train_time_s" in runs[1]
    trained = lambda record, seed: [r for r in record["rows"] if r["network"] == "trained" and r["seed"] == seed]  # noqa: E731
    assert trained(second, 0) == trained(first, 0) and len(trained(second, 1)) == 45
    assert runs[0]["test_accuracy"] == first["analysis"]["runs"][0]["test_accuracy"]  # the floor checks it too
    assert "trained network's cells from the earlier run" in second["notes"][0]
    # a record of other training settings is not resumed: refused (exit 2) naming the field, the record kept
    kept = out.read_text()
    other = cli(*args, "--repeats", "1", "--lr", "0.05", "--resume", "-f", "json")
    assert other.exit_code == 2 and "lr" in other.stderr and out.read_text() == kept


def control_verdicts(control):
    """Each claim the control covers (by the start of its text) and the verdicts of the findings it matches."""
    out = run(ReuseConfig(**control.overrides), torch.device("cpu"), Recorder())
    return {c: [f.reproduced for f in out.findings if f.claim.startswith(c)] for c in control.claims}


@pytest.mark.parametrize("control", [pytest.param(c, marks=[pytest.mark.slow] if c.overrides.get("epochs") else [],
                                                  id=c.label) for c in CONTROLS])
def test_no_control_says_yes(control, one_thread):
    got = control_verdicts(control)
    assert len(got) == 4 and all(v == [None] for v in got.values()), got  # 'cannot tell' in every one of them


def test_the_untrained_control_through_the_cli(cli):
    (untrained,) = [c for c in CONTROLS if c.overrides == {"untrained": True}]
    result = cli("reuse", "--untrained", "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)["findings"]
    assert [f["claim"] for f in found] == list(untrained.claims) and {f["reproduced"] for f in found} == {None}


def test_one_loaded_network_cannot_tell(tmp_path, one_thread):
    torch.save(models.create("densenet-small", in_channels=1).state_dict(), tmp_path / "w.pt")
    out = run(ReuseConfig(weights=str(tmp_path / "w.pt"), subset=64), torch.device("cpu"), Recorder())
    assert {f.reproduced for f in out.findings} == {None}
    # initial weights at chance accuracy: the floor speaks first
    assert all("under the test-accuracy floor" in f.reason for f in out.findings)
    assert threshold_verdict([0.9], [0.3], 0.25)[2].endswith("(a --weights file is one network)")
