"""`probe-transfer`: are the first layers general and the last specific (Alain & Bengio 2016, quoting Yosinski
et al. 2014)? Train a network on the first half of the classes, then fit a closed-form linear probe (the probe
package's exact least-squares fit, control.py) on every layer twice: on the network's own classes and on the other
half, which it never saw; each probe is scored on the test images of its classes. The controls train on all the
classes, or not at all (--trained-on all, none).

The package is torch-free: config.py holds the options, config and row; the engine (experiment.py) is imported
when one of its names is first asked of the package (engine/lazy.py).
"""

from deepgen_cli.engine.lazy import engine_attribute
from deepgen_cli.engine.probe_transfer.config import TransferConfig, TransferRow  # noqa: F401


def __getattr__(name: str):
    return engine_attribute(__name__, name)
