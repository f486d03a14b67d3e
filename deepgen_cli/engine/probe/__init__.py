"""`probe`: linear classifier probes on every layer (Alain & Bengio 2016), trained alongside the model or
post hoc on a loaded or untrained one, within a memory budget per probe.

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.probe.config import (CKA_MIN_EXAMPLES, MAX_PROBE_MB, MAX_TOTAL_PROBE_MB, REDUCTIONS,
                                             ProbeConfig, ProbeRow)  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
