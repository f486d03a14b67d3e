"""`drop-blocks`: can residual blocks be deleted at test time at little cost? (Veit et al. 2016, cited by Huang et
al. 2017.) Train a residual network and the same network without skips, delete one block at a time from the trained
network (the block becomes the identity) and measure the test accuracy left; findings.py judges.

One row per (network, seed, deleted block; 0: none deleted).

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.drop_blocks.config import MODELS, DropBlocksConfig, DropBlocksRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
