"""Every number range is checked at the flag: out of range is exit 2, one line naming the flag and the valid range,
before torch sees the value or a batch is allocated (issue 28)."""

import pytest

from deepgen_cli.engine.config import MAX_EPOCHS, MAX_SEED


@pytest.mark.parametrize("args, message", [
    (["memorize", "--lr", "1e300"], "--lr: must be a positive number up to 3.4e+38, got 1e+300"),
    (["memorize", "--seed", "99999999999999999999999"], f"--seed: must be an integer from 0 to {MAX_SEED:,}, got"),
    (["memorize", "--seed", "-1"], "--seed: must be an integer from 0 to"),
    (["memorize", "--epochs", str(MAX_EPOCHS + 1)], f"--epochs: must be an integer from 1 to {MAX_EPOCHS:,}, got"),
    (["probe", "--epochs", "10000000"], "--epochs: must be an integer from 1 to 100,000"),
    (["memorize", "--batch-size", "10000001"], "--batch-size: must be an integer from 1 to 1,000,000"),
])
def test_out_of_range_is_refused_at_the_flag(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"deepgen: error: {message}") and result.stderr.count("\n") == 1, result.stderr


def test_a_batch_that_cannot_fit_is_refused_with_its_size(cli):
    # 1,000,000 x 3 x 224 x 224 float32 = 602 GB = 560.8 GiB of input alone: no machine here holds half of that
    result = cli("efficiency", "--models", "squeezenet", "--batch-size", "1000000")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("deepgen: error: --batch-size: 1,000,000 images of 3x224x224 for squeezenet "
                                    "take 560.8 GiB as input alone"), result.stderr
