"""`reuse`: do dense layers reuse early features? Train a small DenseNet and read Huang et al.'s Figure 5 off
its weights, each seed's trained network against the same seed's initial weights (findings.py).

One row per (network, seed, block, target layer, source layer): the target's mean |w| on that source's maps.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.reuse.config import ReuseConfig, ReuseRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
