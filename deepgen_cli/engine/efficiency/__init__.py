"""`efficiency`: params, Mult-Adds, size, latency and published accuracy for a list of models.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.efficiency.config import EfficiencyConfig, EfficiencyRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
