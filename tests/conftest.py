"""Shared fixtures: a CLI runner that keeps stdout and stderr apart."""

import pytest
import torch
from typer.testing import CliRunner

from deepgen_cli.cli.app import app


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def one_thread():
    """What the training commands do by default (--threads 1): tiny models on shared cores only wait at a
    second thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
