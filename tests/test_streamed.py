"""The streamed path: the same examples, labels and corruptions as in memory, corruptions fixed across epochs,
the --data-in-memory auto rule, image folders, and CIFAR-10 files streamed at a larger size."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepgen_cli.engine import data
from deepgen_cli.engine.data import corrupt, memory, streamed
from deepgen_cli.engine.data.folder import FolderImages
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.memorize import MemorizeConfig, run
from tests.sessions import Recorder
from tests.test_data import write_cifar

CPU = torch.device("cpu")
GIB = 2 ** 30


def both(**kw):
    """The same data in memory and streamed (no workers: in this process)."""
    cfg = data.DataConfig(**kw)
    return data.load(cfg), streamed.open_data(data.DataConfig(**kw, data_in_memory="no", workers=0), CPU)


def all_train(s) -> tuple[torch.Tensor, torch.Tensor]:
    return s.train.__getitems__(list(range(len(s.train))))


def test_streamed_examples_equal_the_in_memory_ones():
    mem, st = both(subset=300, image_size=12, seed=2)  # 300 examples: the statistics cover them all
    assert streamed.is_streamed(st) and not streamed.is_streamed(mem)
    assert (st.in_channels, st.image_size, st.num_classes) == (1, 12, 10)
    x, y = all_train(st)
    assert torch.equal(y, mem.y_train) and torch.equal(st.y_test, mem.y_test)
    assert torch.allclose(x, mem.x_train, atol=1e-5)  # float64 vs float32 statistics
    xt, _ = st.test.__getitems__(list(range(len(st.test))))
    assert torch.allclose(xt, mem.x_test, atol=1e-5)


@pytest.mark.parametrize("kind", ["labels", "shuffled-pixels"])
def test_corruptions_match_the_in_memory_draws(kind):
    mem, st = both(subset=200)
    noisy_mem, s1 = corrupt.corrupt(mem, kind, 0.5, seed=5)
    noisy_st, s2 = streamed.corrupt(st, kind, 0.5, seed=5)
    x, y = all_train(noisy_st)
    assert s1.corrupted == s2.corrupted == 100
    assert torch.equal(y, noisy_mem.y_train) and torch.allclose(x, noisy_mem.x_train, atol=1e-5)
    if kind == "labels":
        assert s1.changed_fraction == s2.changed_fraction  # counted the same way
    else:
        assert s2.changed_fraction == 0.5  # every chosen image counts as changed on the streamed path


@pytest.mark.parametrize("kind", ["random-pixels", "gaussian"])
def test_image_corruptions_are_fixed_across_epochs_and_workers(kind):
    _, st = both(subset=64)
    noisy, stats = streamed.corrupt(st, kind, 0.25, seed=9)
    chosen = torch.nonzero(noisy.train.corruption.chosen).flatten().tolist()
    assert len(chosen) == stats.corrupted == 16
    first, _ = all_train(noisy)
    clean, _ = all_train(st)
    loader, sampler = streamed.loader(noisy.train, 1, CPU)  # a worker process draws them again
    sampler.batches = [list(range(32)), list(range(32, 64))]
    again = torch.cat([x for x, _ in loader])
    assert torch.equal(first, again)
    changed = (first != clean).flatten(1).any(1)
    assert torch.nonzero(changed).flatten().tolist() == chosen  # exactly the chosen examples differ
    a = chosen[0]
    same_values = torch.equal(first[a].flatten().sort().values, clean[a].flatten().sort().values)
    assert same_values == (kind == "random-pixels")  # a permutation of its own pixels, or new noise


def test_auto_rule_against_ram_and_gpu_memory():
    # 1 GiB of images: 3 GiB while loading must be at most half of the RAM share
    assert memory.fits(GIB, CPU, ram=6 * GIB)[0] and not memory.fits(GIB, CPU, ram=6 * GIB - 1)[0]
    ok, why = memory.fits(GIB, torch.device("cuda"), ram=64 * GIB, gpu_free=2 * GIB - 2)
    assert not ok and "free on cuda" in why
    assert memory.fits(GIB, torch.device("cuda"), ram=64 * GIB, gpu_free=2 * GIB)[0]
    assert memory.final_bytes(50_000, 3, 224) == 30_105_600_000  # CIFAR-10 at 224: 28 GiB


def test_auto_streams_what_does_not_fit(monkeypatch):
    cfg = data.DataConfig(dataset="synthetic", synthetic_shape=(3, 16, 16), synthetic_examples=(100, 20),
                          workers=0)
    assert not streamed.is_streamed(streamed.open_data(cfg, CPU))
    monkeypatch.setattr(memory, "available_ram", lambda: 1_000_000)  # 1 MB: 120 images of 3 KB x 3 copies > half
    st = streamed.open_data(cfg, CPU)
    assert streamed.is_streamed(st) and len(st.train) == 100 and st.image_size == 16
    x, y = st.train.__getitems__([0, 1, 2])
    assert x.shape == (3, 3, 16, 16) and torch.equal(y, st.y_train[:3])
    with pytest.raises(RunError, match="smaller --image-size"):
        data.load(dataclasses.replace(cfg, workers=None))  # says so, instead of running out of memory
    with pytest.raises(UsageError, match="memorize"):
        data.load(data.DataConfig(data_in_memory="no"))


def write_folder(root, classes=("cat", "dog", "eel"), train=4, val=2):
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for k, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                size = (20 + 3 * i, 24 + k)  # width, height: not square, not the final size
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                mode = "L" if i == 1 else "RGB"  # a gray image is read as RGB
                Image.fromarray(pixels).convert(mode).save(root / split / name / f"{i}.png")
    return root


def test_folder_preprocessing_resizes_the_short_side_and_crops_the_centre(tmp_path):
    img = np.zeros((32, 64, 3), dtype=np.uint8)
    img[:, 32:] = 255  # left half black, right half white
    Image.fromarray(img).save(tmp_path / "half.png")
    Image.fromarray(np.full((10, 10, 3), (255, 0, 51), dtype=np.uint8)).save(tmp_path / "solid.png")
    images = FolderImages([str(tmp_path / "half.png"), str(tmp_path / "solid.png")], side=16)
    half = images.image(0)
    # short side 32 -> round(16 * 256 / 224) = 18, so 64 x 32 -> 36 x 18; the centre 16 columns are 10..25 of 36
    # and the edge (column 18 of 36) falls between crop columns 7 and 8
    assert half.shape == (3, 16, 16)
    assert half[:, :, :7].max() < 0.02 and half[:, :, 9:].min() > 0.98
    solid = images.image(1)
    assert torch.allclose(solid[:, 8, 8], torch.tensor([1.0, 0.0, 0.2]), atol=1e-6)


def test_memorize_on_an_image_folder(cli, tmp_path):
    root = write_folder(tmp_path / "images")
    out = tmp_path / "m.json"
    result = cli("memorize", "--dataset", "imagefolder", "--data-dir", root, "--image-size", "16", "--model", "cnn",
                 "--noise", "0,1", "--epochs", "3", "--batch-size", "4", "--workers", "1", "--repeats", "1", "--quiet",
                 "--format", "json", "--output", out)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["config"]["dataset"] == "imagefolder"
    assert [r["noise"] for r in record["rows"]] == [0.0, 1.0]
    row = record["rows"][1]
    assert (row["train_examples"], row["test_examples"], row["num_classes"]) == (12, 6, 3)
    assert row["epochs_run"] >= 1 and 0.0 <= row["test_accuracy"] <= 1.0
    assert any("streamed" in n for n in record["notes"])
    bad = cli("memorize", "--dataset", "imagefolder", "--data-dir", root, "--data-in-memory", "yes", "--quiet")
    assert bad.exit_code == 2 and "always streamed" in bad.stderr
    missing = cli("memorize", "--dataset", "imagefolder", "--data-dir", tmp_path, "--quiet")
    assert missing.exit_code == 2 and "train" in missing.stderr
    probe = cli("probe", "--dataset", "imagefolder", "--data-dir", root, "--quiet")
    assert probe.exit_code == 2 and "memorize" in probe.stderr
    workers = cli("norm-compare", "--workers", "2", "--quiet")
    assert workers.exit_code == 2 and "--workers" in workers.stderr


def test_a_broken_image_names_its_file(tmp_path):
    root = write_folder(tmp_path / "images", train=2, val=1)
    (root / "train" / "dog" / "0.png").write_bytes(b"not a png")
    with pytest.raises(RunError, match="dog/0.png"):  # found by the statistics pass, before training
        streamed.open_data(data.DataConfig(dataset="imagefolder", data_dir=str(root), image_size=8, workers=1), CPU)


def test_a_broken_image_in_a_worker_is_one_line_on_stderr(cli, tmp_path):
    # raised in a DataLoader worker, DataLoader would re-raise it here with the worker's traceback as its message
    root = write_folder(tmp_path / "images", train=2, val=1)
    (root / "train" / "dog" / "0.png").write_bytes(b"not a png")
    result = cli("memorize", "--dataset", "imagefolder", "--data-dir", root, "--image-size", "8", "--workers", "1",
                 "--epochs", "1", "--quiet")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"deepgen: error: --data-dir: cannot decode image '{root / 'train' / 'dog' / '0.png'}' "
                             f"(UnidentifiedImageError); remove or replace it\n")


def test_an_image_past_pillows_pixel_limit_is_refused_by_name(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((12, 12, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # 144 pixels: more than twice the limit, an error in Pillow
    with pytest.raises(RunError, match="big.png' \\(DecompressionBombError\\)"):
        FolderImages([str(tmp_path / "big.png")], side=8).image(0)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # between 1x and 2x: Pillow only warns, the image loads
    with pytest.warns(Image.DecompressionBombWarning):
        assert FolderImages([str(tmp_path / "big.png")], side=8).image(0).shape == (3, 8, 8)


def test_cifar10_streamed_at_a_larger_size(cli, tmp_path):
    write_cifar(tmp_path, per_batch=4, test=6)
    args = ("memorize", "--dataset", "cifar10", "--data-dir", tmp_path, "--image-size", "40", "--model", "cnn",
            "--noise", "1", "--epochs", "2", "--no-until-fit", "--batch-size", "8", "--repeats", "1", "--quiet",
            "--format", "json")
    st = json.loads(cli(*args, "--data-in-memory", "no", "--workers", "0").stdout)
    mem = json.loads(cli(*args, "--data-in-memory", "yes").stdout)
    (a,), (b,) = st["rows"], mem["rows"]
    assert a["train_examples"] == b["train_examples"] == 20 and a["test_examples"] == 6
    # 20 examples: the same statistics, labels and batches, so the same training up to float rounding
    assert a["final_train_loss"] == pytest.approx(b["final_train_loss"], rel=1e-4)
    assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-4)


def test_memorize_engine_streamed_fits_like_in_memory(one_thread):
    rows = {}
    for mode in ("yes", "no"):
        s = Recorder()
        run(MemorizeConfig(noise=(1.0,), subset=150, data_in_memory=mode, workers=0, repeats=1), CPU, s)
        rows[mode] = s.rows[0]
    a, b = rows["yes"], rows["no"]
    assert a.fit_epoch == b.fit_epoch and a.test_accuracy == b.test_accuracy and a.train_accuracy == 1.0
