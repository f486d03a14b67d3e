"""The start every training experiment's run shares: its config resolved and checked, the thread count it ran
with set, and its data loaded (with a progress line, since loading a real dataset takes seconds)."""

from __future__ import annotations

from contextlib import contextmanager

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine.modes import torch_threads


@contextmanager
def loaded(config, session):
    """(config as run, its dataset), inside the run's thread count (restored on the way out)."""
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        yield config, data_mod.load(data_mod.config_for(config))
