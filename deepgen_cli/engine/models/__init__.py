"""Model builders; importing this package fills the registry, whose functions it re-exports."""

from deepgen_cli.engine.models import densenet, densenet_cifar, mobilenet_v1, small, zoo  # noqa: F401  (they register)
from deepgen_cli.engine.registry import (ALPHA_RANGE, RESOLUTION_RANGE, ModelEntry, ModelSpec,  # noqa: F401
                                         entry, get, names, parse_spec, parse_specs, register)
