"""Every bad input of issue 6, through the CLI: one stderr line naming the flag, exit 2 (usage) or 1 (run time)."""

import pytest
import torch
import torchvision

from tests.test_data import write_cifar, write_mnist


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    torch.save(torchvision.models.resnet18().state_dict(), root / "resnet18.pt")
    (root / "a_file").write_text("not a folder")
    (root / "empty").mkdir()
    cifar = root / "truncated_cifar"
    folder = write_cifar(cifar)
    whole = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(whole[: len(whole) // 2])  # cut mid-pickle
    mnist = root / "short_mnist"
    raw = write_mnist(mnist)
    images = (raw / "train-images-idx3-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(images[: 16 + 28 * 28 * 3])  # header says 6 images, 3 follow
    return root


CASES = [
    # (command and arguments, exit code, text the one line must hold); {root} is the fixture's folder
    (["efficiency", "--models", "nope"], 2, "--models: unknown model 'nope'; valid: alexnet"),
    (["memorize", "--model", "nope"], 2, "--model: unknown model 'nope'; valid:"),
    (["probe", "--model", "nope"], 2, "--model"),
    (["norm-compare", "--model", "nope"], 2, "--model"),
    (["memorize", "--dataset", "imagenet"], 2, "--dataset: unknown dataset 'imagenet'; valid: digits"),
    (["probe", "--dataset", "imagenet"], 2, "--dataset"),
    (["norm-compare", "--dataset", "imagenet"], 2, "--dataset"),
    (["memorize", "--corruption", "blur"], 2, "--corruption: must be a comma list of: labels, random-labels"),
    (["norm-compare", "--norms", "batch,layer"], 2, "--norms"),
    (["efficiency", "--models", "mobilenet:5"], 2, "--models: width multiplier in 'mobilenet:5' must be a number in [0.05, 4.0]"),
    (["efficiency", "--models", "mobilenet:0.5@8"], 2, "--models: resolution in 'mobilenet:0.5@8' must be an integer in [16, 2048]"),
    (["memorize", "--noise", "1.5"], 2, "--noise: each level must be a fraction in [0, 1], got 1.5"),
    (["memorize", "--noise", "0,-0.1"], 2, "--noise"),
    (["efficiency", "--batch-size", "0"], 2, "--batch-size"),
    (["memorize", "--batch-size", "0"], 2, "--batch-size: must be an integer from 1 to 1,000,000, got 0"),
    (["probe", "--batch-size", "0"], 2, "--batch-size"),
    (["norm-compare", "--batch-size", "0"], 2, "--batch-size"),
    (["memorize", "--epochs", "0"], 2, "--epochs: must be an integer from 1 to 100,000, got 0"),
    (["probe", "--epochs", "-1"], 2, "--epochs"),
    (["norm-compare", "--epochs", "0"], 2, "--epochs"),
    (["efficiency", "--models", ""], 2, "--models: no model given; valid:"),
    (["efficiency", "--models", " , "], 2, "--models: no model given"),
    (["memorize", "--dataset", "cifar10", "--data-dir", "{root}/empty"], 1, "no CIFAR-10 file 'data_batch_1'"),
    (["memorize", "--dataset", "mnist", "--data-dir", "{root}/empty"], 1, "MNIST/raw"),
    (["memorize", "--dataset", "cifar10", "--data-dir", "{root}/truncated_cifar"], 1, "data_batch_2"),
    (["memorize", "--dataset", "mnist", "--data-dir", "{root}/short_mnist"], 1, "corrupt"),
    (["efficiency", "--models", "squeezenet1_1", "--weights", "{root}/resnet18.pt"], 1,
     "--weights: '{root}/resnet18.pt' does not match the model: key 'features.0.weight' is missing"),
    (["efficiency", "--models", "squeezenet1_1", "--weights", "{root}/nowhere.pt"], 2, "--weights"),
    (["memorize", "--output", "{root}/no/such/dir/r.json"], 2, "--output: cannot write in"),
    (["efficiency", "--output", "{root}/empty"], 2, "--output: '{root}/empty' is a directory"),
    (["memorize", "--dataset", "mnist", "--data-dir", "{root}/a_file"], 2, "--data-dir: '{root}/a_file' is a file"),
    (["memorize", "--dataset", "synthetic", "--synthetic-shape", "3x16"], 2, "--synthetic-shape"),
    (["memorize", "--dataset", "synthetic", "--synthetic-classes", "1"], 2, "--synthetic-classes"),
    (["memorize", "--format", "yaml"], 2, "--format"),
]


@pytest.mark.parametrize("args, code, text", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_is_one_line_and_its_exit_code(cli, files, args, code, text):
    args = [a.replace("{root}", str(files)) for a in args]
    result = cli(*args, "--quiet")
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("deepgen: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert text.replace("{root}", str(files)) in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
@pytest.mark.parametrize("command", ["efficiency", "memorize", "probe", "norm-compare"])
def test_device_cuda_without_a_gpu(cli, command):
    result = cli(command, "--device", "cuda", "--quiet")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "deepgen: error: --device cuda: no CUDA GPU is visible to torch; valid here: auto, cpu\n"
