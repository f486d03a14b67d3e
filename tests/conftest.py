"""Shared fixtures: a CLI runner that keeps stdout and stderr apart."""

import pytest
from typer.testing import CliRunner

from deepgen_cli.main import app


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke
