"""`downsample`: does downsampling late raise accuracy? (Iandola et al. 2016, strategy 3.) Two networks equal but
for which layers are strided, trained with the same seeds; findings.py judges the paired difference.

One row per (placement, seed): the network's Mult-Adds per image (the price of large activation maps) and its
accuracy.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.downsample.config import DownsampleConfig, DownsampleRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
