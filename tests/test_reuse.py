"""`reuse` engine: per-source weight slicing of dense layers, the four Figure 5 verdicts, the DenseNet models."""

import json
import math

import pytest
import torch

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.models.densenet import DenseNet, source_slices
from deepgen_cli.engine.reuse import ReuseConfig, run
from deepgen_cli.engine.reuse.findings import BASELINE, findings, observations
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


def test_the_four_observations_hold_on_a_paper_like_network():
    found = observations(paper_like())
    assert [f.reproduced for f in found] == [True, True, True, True]
    assert all(f.basis == "measured" for f in found)
    # block 1, layer 4 reads layer 1 at 1.0 - 0.05 * 2 = 0.9; blocks 2, 3 the same
    assert "0.90, 0.90, 0.90 (needs >= 0.25" in found[0].measured
    assert "least weight on any source, per transition: 0.50, 0.50" in found[1].measured
    # blocks 2 and 3, layers 2-4: 6 layers; random weights would make the input least in (1/2 + 1/3 + 1/4) / 3
    assert "6/6 layers (100%; needs >= 75%, 'consistently'; 36% if weights were random)" in found[2].measured
    assert "strongest source: layer 4" in found[3].measured


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
    assert [f.reproduced for f in observations(blocks)] == [i != broken for i in range(4)]


def test_uniform_weights_show_the_spread_but_not_the_concentration():
    uniform = [[[1.0] * (t + 1) for t in range(5)] for _ in range(3)]
    notes = []
    found = findings(uniform, uniform, notes)
    assert [f.reproduced for f in found] == [True, True, False, False] * 2
    assert found[4].claim.startswith(BASELINE) and found[4].claim.removeprefix(BASELINE) == found[0].claim
    assert notes == ["observations 1, 2 also hold at the initial weights, where every input map of a layer has "
                     "the same expected |w|: here they do not show learned reuse"]


def test_one_block_gets_the_verdicts_it_can_have():
    (block,) = paper_like(blocks=1)
    assert [f.claim.split(" (")[0][:10] for f in observations([block])] == ["Deep layer", "The classi"]


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
    out = run(ReuseConfig(epochs=1, subset=128, batch_size=32), torch.device("cpu"), session)
    # per network: 3 blocks x (1 + 2 + 3 + 4 + 5 sources over the 4 layers and the transition/classifier)
    assert len(session.rows) == 2 * 3 * 15
    assert {r.network for r in session.rows} == {"trained", "untrained"}
    first = [r for r in session.rows if r.network == "trained" and r.block == 1 and r.target == "transition"]
    assert [r.source for r in first] == [0, 1, 2, 3, 4] and max(r.normalized_weight for r in first) == 1.0
    assert len(out.findings) == 8 and sum(f.claim.startswith(BASELINE) for f in out.findings) == 4
    nets = out.analysis["networks"]
    assert [len(c) for c in nets["trained"][2]["normalized"]] == [1, 2, 3, 4, 5]
    assert nets["untrained"][2]["targets"][-1] == "classifier"
    assert all(math.isfinite(v) for b in nets["trained"] for c in b["normalized"] for v in c)


def test_untrained_only_and_bad_options(one_thread):
    out = run(ReuseConfig(untrained=True, subset=64), torch.device("cpu"), Recorder())
    assert len(out.findings) == 4 and all(f.claim.startswith(BASELINE) for f in out.findings)
    with pytest.raises(UsageError, match="--model: 'cnn' is not a dense network"):
        run(ReuseConfig(model="cnn"), torch.device("cpu"), Recorder())
    with pytest.raises(UsageError, match="--repeats"):
        run(ReuseConfig(weights="w.pt", repeats=2), torch.device("cpu"), Recorder())


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
    assert cli(*args).exit_code == 0
    first = json.loads(out.read_text())
    more = cli(*args, "--repeats", "2", "--resume", "-f", "json")
    assert more.exit_code == 0, more.stderr
    second = json.loads(more.stdout)
    runs = second["analysis"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and runs[0].get("resumed") and "train_time_s" in runs[1]
    trained = lambda record, seed: [r for r in record["rows"] if r["network"] == "trained" and r["seed"] == seed]  # noqa: E731
    assert trained(second, 0) == trained(first, 0) and len(trained(second, 1)) == 45
    assert "trained network's cells from the earlier run" in second["notes"][0]
    # a record of other training settings holds no rows to reuse: the seed trains again
    other = json.loads(cli(*args, "--lr", "0.05", "--resume", "-f", "json").stdout)
    assert not other["analysis"]["runs"][0].get("resumed")
