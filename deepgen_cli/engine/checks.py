"""The checks of a run's config that need torch (the data options against the dataset, the training options
against the trainer's rules), imported only when called: a command's config runs its own torch-free rules first,
so that --help and a usage error start without torch (tests/test_startup.py), and calls these last."""

from __future__ import annotations


def check_training(config, **overrides) -> None:
    """The training options of `config` (with `overrides`) as engine/train.py's TrainConfig checks them."""
    from deepgen_cli.engine import train

    train.TrainConfig.of(config, **overrides).check()


def check_data(config) -> None:
    """The data options of `config` as engine/data checks them (the dataset's files, sizes and memory)."""
    from deepgen_cli.engine import data

    data.check(data.config_for(config))
