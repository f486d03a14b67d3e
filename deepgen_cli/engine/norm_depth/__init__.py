"""`norm-depth`: does batch norm's small-microbatch loss compound with depth (Ioffe 2017)? The same MLP family,
mlp-bn with 1, 2 and 4 normalized hidden layers of one width, trained with batch norm and batch renorm at a
small microbatch and at the whole minibatch, paired by seed; the findings (findings.py) read the premise's loss at
each depth, its growth from the shallowest to the deepest, and renorm's recovery at each depth.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.norm_depth.config import MAX_DEPTH, NORMS, NormDepthConfig, NormDepthRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
