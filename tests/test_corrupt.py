"""Corruptions touch exactly round(p * N) training examples, keep labels in range, and leave test data alone."""

import pytest
import torch

from deepgen_cli.engine.data import corrupt
from deepgen_cli.engine.data import Dataset
from deepgen_cli.engine.errors import UsageError


def dataset(n=100, classes=10, side=4) -> Dataset:
    # image i holds the values 1000*i + position, so every image and every pixel is distinct
    x = (1000 * torch.arange(n)[:, None] + torch.arange(side * side)).float().reshape(n, 1, side, side)
    y = torch.arange(n) % classes
    return Dataset("toy", x, y, x[:10].clone(), y[:10].clone(), classes)


@pytest.mark.parametrize("p, chosen", [(0.0, 0), (0.25, 25), (0.5, 50), (0.999, 100), (1.0, 100)])
def test_labels_replace_exactly_round_p_n(p, chosen):
    d = dataset()
    noisy, stats = corrupt.corrupt(d, "labels", p, seed=0)
    assert stats.corrupted == chosen
    changed = noisy.y_train != d.y_train
    assert stats.changed_fraction == changed.sum().item() / 100
    assert changed.sum().item() <= chosen  # a redrawn label may land on the old class
    assert noisy.y_train.min() >= 0 and noisy.y_train.max() <= 9 and noisy.y_train.dtype == torch.int64
    assert torch.equal(noisy.x_train, d.x_train) and torch.equal(noisy.y_test, d.y_test)


def test_labels_untouched_outside_the_chosen_set():
    d = dataset()
    gen = torch.Generator().manual_seed(5)
    chosen = corrupt.choose(100, 0.3, gen)
    y = corrupt.random_labels(d.y_train, chosen, 10, gen)
    keep = torch.ones(100, dtype=torch.bool)
    keep[chosen] = False
    assert len(chosen) == 30 and len(set(chosen.tolist())) == 30
    assert torch.equal(y[keep], d.y_train[keep])


def test_random_labels_is_p1_and_about_one_in_k_keep_their_class():
    d = dataset(n=2000)
    noisy, stats = corrupt.corrupt(d, "random-labels", 0.3, seed=1)  # p is ignored: always 1
    assert stats.noise == 1.0 and stats.corrupted == 2000
    assert 0.87 <= stats.changed_fraction <= 0.93  # expected 0.9; binomial SD 0.7 points


def test_shuffled_pixels_use_one_permutation():
    d = dataset()
    noisy, stats = corrupt.corrupt(d, "shuffled-pixels", 0.4, seed=2)
    assert stats.corrupted == 40 and stats.changed_fraction == 0.4
    moved = [i for i in range(100) if not torch.equal(noisy.x_train[i], d.x_train[i])]
    assert len(moved) == 40
    perms = {tuple((noisy.x_train[i].flatten() - 1000 * i).long().tolist()) for i in moved}
    assert len(perms) == 1 and sorted(next(iter(perms))) == list(range(16))
    assert torch.equal(noisy.y_train, d.y_train) and torch.equal(noisy.y_test, d.y_test)
    # as Zhang et al.: the same permutation on the test images, here on round(0.4 * 10) = 4 of them
    moved_test = [i for i in range(10) if not torch.equal(noisy.x_test[i], d.x_test[i])]
    assert len(moved_test) == stats.test_corrupted == 4
    assert {tuple((noisy.x_test[i].flatten() - 1000 * i).long().tolist()) for i in moved_test} == perms


def test_shuffled_pixels_at_p1_permute_every_test_image_with_the_training_permutation():
    d = dataset()
    noisy, stats = corrupt.corrupt(d, "shuffled-pixels", 1.0, seed=7)
    perm = (noisy.x_train[0].flatten() - 0).long()  # image 0 holds 0..15: its new order is the permutation
    assert stats.test_corrupted == 10
    for i in range(10):
        assert torch.equal(noisy.x_test[i].flatten(), d.x_test[i].flatten()[perm])
        assert torch.equal(noisy.x_train[i].flatten(), d.x_train[i].flatten()[perm])


@pytest.mark.parametrize("kind", ["random-pixels", "gaussian", "labels"])
def test_other_corruptions_keep_a_clean_test_set(kind):
    d = dataset()
    noisy, stats = corrupt.corrupt(d, kind, 1.0, seed=3)
    assert torch.equal(noisy.x_test, d.x_test) and torch.equal(noisy.y_test, d.y_test) and stats.test_corrupted == 0


def test_corrupt_test_redraws_the_same_fraction_of_test_labels_and_leaves_training_as_it_was():
    d = dataset(n=100)
    d.x_test, d.y_test = d.x_train.clone(), d.y_train.clone()  # 100 test examples
    plain, _ = corrupt.corrupt(d, "labels", 0.3, seed=4)
    noisy, stats = corrupt.corrupt(d, "labels", 0.3, seed=4, corrupt_test=True)
    assert torch.equal(noisy.y_train, plain.y_train)  # the training stream does not move
    assert stats.test_corrupted == 30 and torch.equal(noisy.x_test, d.x_test)
    changed = int((noisy.y_test != d.y_test).sum())
    assert 20 <= changed <= 30  # 30 redrawn, about 1 in 10 lands on its old class


def test_random_pixels_use_a_permutation_per_image():
    d = dataset()
    noisy, stats = corrupt.corrupt(d, "random-pixels", 1.0, seed=3)
    assert stats.corrupted == 100 and stats.changed_fraction == 1.0
    perms = {tuple((noisy.x_train[i].flatten() - 1000 * i).long().tolist()) for i in range(100)}
    assert len(perms) == 100  # 16! orderings: a repeat would be a bug
    assert all(sorted(p) == list(range(16)) for p in perms)


def test_gaussian_images_match_the_training_mean_and_variance():
    x = 3.0 + 2.0 * torch.randn(4000, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    x[:, 1] = -1.0 + 0.5 * x[:, 1]  # channel 1: mean 0.5, std 1
    d = Dataset("toy", x, torch.zeros(4000, dtype=torch.int64), x[:5], torch.zeros(5, dtype=torch.int64), 2)
    noisy, stats = corrupt.corrupt(d, "gaussian", 0.5, seed=4)
    assert stats.corrupted == 2000 and stats.changed_fraction == 0.5
    moved = (noisy.x_train != x).flatten(1).any(1)
    fresh = noisy.x_train[moved]
    assert fresh[:, 0].mean().item() == pytest.approx(3.0, abs=0.05) and fresh[:, 0].std().item() == pytest.approx(2.0, abs=0.05)
    assert fresh[:, 1].mean().item() == pytest.approx(0.5, abs=0.05) and fresh[:, 1].std().item() == pytest.approx(1.0, abs=0.05)


def test_same_seed_same_corruption():
    d = dataset()
    a, _ = corrupt.corrupt(d, "labels", 0.5, seed=9)
    b, _ = corrupt.corrupt(d, "labels", 0.5, seed=9)
    c, _ = corrupt.corrupt(d, "labels", 0.5, seed=10)
    assert torch.equal(a.y_train, b.y_train) and not torch.equal(a.y_train, c.y_train)


@pytest.mark.parametrize("kind, p, flag", [("blur", 0.5, "--corruption"), ("labels", 1.5, "--noise"),
                                           ("labels", -0.1, "--noise")])
def test_bad_corruptions(kind, p, flag):
    with pytest.raises(UsageError, match=flag):
        corrupt.corrupt(dataset(), kind, p, seed=0)
