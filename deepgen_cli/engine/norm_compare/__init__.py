"""`norm-compare`: one architecture trained with batch norm, batch renorm, group norm and no norm, as Ioffe
(2017) ran it: a gradient minibatch whose batch-norm statistics come from microbatches inside it, and
non-i.i.d. minibatches of a few classes; accuracy in eval mode and with batch statistics, step cost.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.norm_compare.config import (BN_MOMENTUM, DMAX, DMAX_FRACTION, MICROBATCH, RENORM_MOMENTUM,
                                                    RMAX, RMAX_FRACTION, WARMUP_FRACTION, NormCompareConfig,
                                                    NormCompareRow, Setting)  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
