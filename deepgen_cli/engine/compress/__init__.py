"""`compress`: is SqueezeNet 510x smaller than AlexNet with Deep Compression, and does the compression cost
accuracy? (Iandola et al. 2016, Table 2; Han et al. 2016). coding.py compresses and counts; findings.py judges.

Rows: the architectures (AlexNet at 32 bits, SqueezeNet at 32 bits and compressed; counted on seeded initial
weights, nothing trained) and, per seed, a small network trained on the data, at 32 bits and compressed.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.compress.config import ARCH, CompressConfig, CompressRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
