"""The shared training engine: the penalized loss by hand, determinism, callbacks, batching and evaluate."""

import math

import pytest
import torch
from torch import nn

from deepgen_cli.engine import train
from deepgen_cli.engine.data import DataConfig, load
from deepgen_cli.engine.errors import UsageError

# logits (log 1, log 3): p = (0.25, 0.75); with label 1 the NLL is -log 0.75
LOGITS = torch.tensor([[0.0, math.log(3.0)]])
LABEL = torch.tensor([1])
NLL = -math.log(0.75)  # 0.287682
H = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.562335 nats


def test_entropy_by_hand():
    assert train.entropy(LOGITS).item() == pytest.approx(H, abs=1e-6)


def test_confidence_penalty_is_nll_minus_beta_entropy():
    assert train.loss_terms(LOGITS, LABEL).item() == pytest.approx(NLL, abs=1e-6)
    assert train.loss_terms(LOGITS, LABEL, beta=0.5).item() == pytest.approx(NLL - 0.5 * H, abs=1e-6)  # 0.006515


def test_hinge_penalizes_only_entropies_below_the_threshold():
    hinge = train.loss_terms(LOGITS, LABEL, beta=0.5, threshold=1.0).item()
    assert hinge == pytest.approx(NLL + 0.5 * (1.0 - H), abs=1e-6)  # 0.506514
    assert train.loss_terms(LOGITS, LABEL, beta=0.5, threshold=0.5).item() == pytest.approx(NLL, abs=1e-6)


def test_label_smoothing_matches_its_definition():
    # smoothing 0.2 over 2 classes: target (0.1, 0.9)
    expected = -(0.1 * math.log(0.25) + 0.9 * math.log(0.75))
    assert train.loss_terms(LOGITS, LABEL, label_smoothing=0.2).item() == pytest.approx(expected, abs=1e-6)


@pytest.fixture(autouse=True)
def one_thread():
    # tiny models: a second thread only waits at barriers on a shared machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy():
    return load(DataConfig(dataset="synthetic", synthetic_shape=(1, 4, 4), synthetic_classes=3,
                           synthetic_examples=(33, 12), seed=1))


def model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))


def params(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()])


CFG = train.TrainConfig(epochs=3, batch_size=16, lr=0.1, seed=5)


def test_same_seed_same_weights_and_callbacks_change_nothing(toy):
    a, b, c = model(), model(), model()
    train.train(a, toy, CFG, "cpu")
    steps = []
    train.train(b, toy, CFG, "cpu", on_step=lambda s, e, xb, yb: steps.append((s, e, len(yb))),
                on_epoch=lambda stats: steps.append(stats.epoch))
    assert torch.equal(params(a), params(b))  # bit for bit
    # 33 examples in batches of 16: 16, 17 (a last batch of one joins the one before); steps count from 1
    assert steps == [(1, 1, 16), (2, 1, 17), 1, (3, 2, 16), (4, 2, 17), 2, (5, 3, 16), (6, 3, 17), 3]
    train.train(c, toy, train.TrainConfig(epochs=3, batch_size=16, lr=0.1, seed=6), "cpu")
    assert not torch.equal(params(a), params(c))


def test_before_step_sees_each_batch_just_before_its_forward(toy):
    a, b = model(), model()
    train.train(a, toy, CFG, "cpu")
    events = []
    # Training forwards only: a fit check's evaluate() also runs the model.
    b.register_forward_pre_hook(lambda mod, args: events.append(("forward", len(args[0]))) if mod.training else None)
    train.train(b, toy, CFG, "cpu", before_step=lambda s, e, xb, yb: events.append(("before", s, e, xb, yb)),
                on_step=lambda s, e, xb, yb: events.append(("after", s, e, xb, yb)))
    assert torch.equal(params(a), params(b))  # bit for bit
    # Per step: before_step, the forward of that batch, on_step with the very same batch and step number.
    assert [ev[:3] if ev[0] != "forward" else ev for ev in events] == [
        ev for s, e, n in [(1, 1, 16), (2, 1, 17), (3, 2, 16), (4, 2, 17), (5, 3, 16), (6, 3, 17)]
        for ev in (("before", s, e), ("forward", n), ("after", s, e))]
    for before, after in zip(events[0::3], events[2::3]):
        assert before[3] is after[3] and before[4] is after[4]


def test_global_rng_is_not_touched(toy):
    m = model()
    state = torch.get_rng_state()
    train.train(m, toy, train.TrainConfig(epochs=2, batch_size=8, lr=0.1, augment=True), "cpu")
    assert torch.equal(state, torch.get_rng_state())


def test_batch_order_replaces_the_permutation(toy):
    seen = []
    order = lambda epoch, gen: [torch.arange(0, 20), torch.arange(20, 33)]  # noqa: E731
    r = train.train(model(), toy, CFG, "cpu", batch_order=order,
                    on_step=lambda s, e, xb, yb: seen.append(yb.clone()))
    assert r.steps == 6 and all(st.steps == 2 for st in r.epochs)
    assert torch.equal(seen[0], toy.y_train[:20]) and torch.equal(seen[1], toy.y_train[20:])


def test_until_fit_stops_at_the_fit_epoch_and_lr_decays(toy):
    m = model()
    r = train.train(m, toy, train.TrainConfig(epochs=200, batch_size=16, lr=0.1, until_fit=True), "cpu")
    assert r.fit_epoch is not None and len(r.epochs) == r.fit_epoch < 200
    # fit: every batch right as trained, then every training example right in eval mode; not before
    assert train.evaluate(m, toy.x_train, toy.y_train, "cpu").accuracy == 1.0
    assert r.epochs[-1].train_accuracy == 1.0 and all(e.train_accuracy < 1.0 for e in r.epochs[:-1])
    assert r.fit_seconds == pytest.approx(sum(e.seconds for e in r.epochs))
    decayed = train.train(model(), toy, train.TrainConfig(epochs=3, batch_size=16, lr=0.1, lr_schedule="exp:0.5"), "cpu")
    assert [e.lr for e in decayed.epochs] == [0.1, 0.05, 0.025]


def test_augment_is_a_shifted_or_flipped_crop():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(50, 1, 1, 1)
    out = train.augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = nn.functional.pad(x[0], (1, 1, 1, 1))
    candidates = [padded[:, i:i + 4, j:j + 4] for i in range(3) for j in range(3)]
    candidates += [c.flip(2) for c in candidates]
    for img in out:
        assert any(torch.equal(img, c) for c in candidates)
    assert len({tuple(img.flatten().tolist()) for img in out}) > 5  # not one fixed crop


def test_evaluate_accuracy_loss_entropy_and_mode():
    m = nn.Identity().train()
    x = torch.stack([LOGITS[0], torch.zeros(2)])
    r = train.evaluate(m, x, torch.tensor([1, 1]), "cpu", batch_size=1)
    assert r.accuracy == 0.5 and r.examples == 2  # the tie (0, 0) goes to class 0
    assert r.loss == pytest.approx((NLL + math.log(2)) / 2, abs=1e-6)
    assert r.mean_entropy == pytest.approx((H + math.log(2)) / 2, abs=1e-6)
    assert m.training


def test_cp_anneal_raises_beta_linearly_and_trains_with_each_epochs_beta(toy):
    cfg = train.TrainConfig(epochs=6, batch_size=16, lr=0.1, confidence_penalty=2.0, cp_anneal=4)
    assert [train.penalty(cfg, e) for e in range(1, 7)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    # the first epoch of an annealed run is a run at beta / 4: the same batches, the same loss to the bit
    annealed = train.train(model(), toy, cfg, "cpu").epochs
    quarter = train.train(model(), toy, train.TrainConfig(epochs=1, batch_size=16, lr=0.1, confidence_penalty=0.5),
                          "cpu").epochs
    full = train.train(model(), toy, train.TrainConfig(epochs=1, batch_size=16, lr=0.1, confidence_penalty=2.0),
                       "cpu").epochs
    assert annealed[0].train_loss == quarter[0].train_loss != full[0].train_loss


def test_bf16_and_channels_last_train_on_cpu(toy):
    cfg = train.TrainConfig(epochs=2, batch_size=16, lr=0.1, amp="bf16", channels_last=True)
    r = train.train(model(), toy, cfg, "cpu")
    assert len(r.epochs) == 2 and math.isfinite(r.epochs[-1].train_loss)


@pytest.mark.parametrize("kw, flag", [({"amp": "fp8"}, "--amp"), ({"epochs": 0}, "--epochs"),
                                      ({"lr": -1.0}, "--lr"), ({"eval_every": -1}, "--eval-every"),
                                      ({"cp_threshold": -1.0}, "--cp-threshold"),
                                      ({"cp_threshold": 1.0}, "--confidence-penalty"),
                                      ({"cp_anneal": 3}, "--cp-anneal")])
def test_bad_settings_are_usage_errors(toy, kw, flag):
    cfg = train.TrainConfig(**{**dict(epochs=1, batch_size=8, lr=0.1), **kw})
    with pytest.raises(UsageError, match=flag):
        train.train(model(), toy, cfg, "cpu")


@pytest.mark.parametrize("schedule, epochs, want", [
    ("constant", [1, 5, 300], [1.0, 1.0, 1.0]),
    ("exp:0.95", [1, 2, 11], [1.0, 0.95, 0.95 ** 10]),  # Zhang et al.: x0.95 per epoch
    ("step:150,225", [1, 150, 151, 225, 226, 300], [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]),  # their reference code
    ("cosine", [1, 151, 300], [1.0, 0.5, 0.5 * (1 + math.cos(math.pi * 299 / 300))]),
])
def test_each_schedule_gives_the_documented_rate(schedule, epochs, want):
    from deepgen_cli.engine.schedules import lr_factor

    assert [lr_factor(schedule, e, 300) for e in epochs] == pytest.approx(want)


def test_schedules_parse_to_one_written_form_and_cosine_moves_within_an_epoch(toy):
    from deepgen_cli.engine.schedules import lr_factor, parse_schedule

    assert parse_schedule(" step:225,150") == "step:150,225" and parse_schedule("exp:0.950") == "exp:0.95"
    for bad in ("exp:0", "exp:2", "step:", "step:0,5", "linear", "cosine:3"):
        with pytest.raises(UsageError, match="--lr-schedule: cannot read"):
            parse_schedule(bad)
    assert lr_factor("cosine", 1, 2, 0.5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))  # a quarter in
    assert lr_factor("exp:0.5", 2, 3, 0.9) == 0.5  # per epoch: the same all through it
    rates = []
    cfg = train.TrainConfig(epochs=2, batch_size=20, lr=0.1, lr_schedule="cosine")
    train.train(model(), toy, cfg, "cpu", on_epoch=lambda s: rates.append(s.lr))
    assert rates == pytest.approx([0.1, 0.05])  # at each epoch's first step: cos(0) and cos(pi/2)


def test_the_curve_holds_test_accuracy_every_n_epochs(toy):
    m = model()
    cfg = train.TrainConfig(epochs=5, batch_size=16, lr=0.1, eval_every=2)
    r = train.train(m, toy, cfg, "cpu", test=True)
    got = [e.test_accuracy for e in r.epochs]
    assert [a is not None for a in got] == [False, True, False, True, True]  # every 2nd, and the last
    assert got[-1] == train.evaluate(m, toy.x_test, toy.y_test, "cpu").accuracy


def test_the_tally_sums_loss_times_examples_and_examples_right_across_folds(monkeypatch):
    monkeypatch.setattr(train, "FOLD_STEPS", 2)  # fold after steps 2 and 4, and the rest at the end
    tally = train.Tally(torch.device("cpu"))
    eye = torch.eye(3)
    # (mean loss, logits, labels): batch sizes 2, 1, 3, 1, 2; right 1, 1, 2, 0, 2 -> 6 of 9
    steps = [(1.0, eye[[0, 1]], [0, 2]), (2.0, eye[[2]], [2]), (3.0, eye[[0, 1, 2]], [0, 1, 0]),
             (0.5, eye[[1]], [0]), (0.25, eye[[2, 2]], [2, 2])]
    for loss, logits, labels in steps:
        tally.add(torch.tensor(loss, requires_grad=True), logits.requires_grad_(), torch.tensor(labels))
    assert tally.seen == 7  # two folds: 2 + 1 + 3 + 1 examples summed, the last batch still held
    assert tally.total() == (1.0 * 2 + 2.0 * 1 + 3.0 * 3 + 0.5 * 1 + 0.25 * 2, 6, 9)  # (14.0, 6, 9)


@pytest.mark.parametrize("chunk_examples", [1, 40, 1000])  # one batch at a time, 2 of 3 batches at once, all
def test_the_tensor_feed_gathers_batches_in_chunks_and_yields_each_batch_as_indexed(toy, monkeypatch, chunk_examples):
    from deepgen_cli.engine import feeds

    per_example = toy.x_train[:1].nbytes  # 1 x 4 x 4 float32: 64 bytes
    monkeypatch.setattr(feeds, "GATHER_BYTES", chunk_examples * per_example)
    feed = feeds.Tensors(toy, CFG, torch.device("cpu"))
    parts = [(torch.tensor([5, 1, 5, 32] * 4), 1.0), (torch.arange(20, 0, -1), 0.5), (torch.arange(10), 2.0)]
    got = list(feed(parts))
    assert [share for _, _, share in got] == [1.0, 0.5, 2.0]
    for (xb, yb, _), (idx, _) in zip(got, parts):  # repeats and any order, as a batch_order may give
        assert torch.equal(xb, toy.x_train[idx]) and torch.equal(yb, toy.y_train[idx]) and xb.is_contiguous()
