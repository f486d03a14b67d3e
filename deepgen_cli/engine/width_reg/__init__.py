"""`width-reg`: do small models need less regularization (Howard et al. 2017: "small models have less trouble with
overfitting")? A narrow and a wide member of one family (the cnn at two widths), each trained without
regularization and with weight decay and augmentation, paired by seed; the findings (findings.py) read the
train/test gap of each width and what the regularizers buy at each.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.width_reg.config import WidthRegConfig, WidthRegRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
