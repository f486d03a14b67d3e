"""`memorize`: train on corrupted labels or images at each noise level, as in Zhang et al. (2017), Figure 1.

One row per noise level: train and test accuracy, the gap, and the epochs and seconds it took to fit.

The package itself is torch-free (config.py: options, config, row); the engine (experiment.py) is imported on
first use of one of its names, so `from deepgen_cli.engine.memorize import run` works as before.
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.memorize.config import MemorizeConfig, MemorizeRow, row_config  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
