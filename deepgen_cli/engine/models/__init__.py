"""Model builders; importing this package fills the registry from the torch-free catalog (each builder
module is imported at its first build) and re-exports the registry's functions."""

from deepgen_cli.engine.models import catalog  # noqa: F401  (it declares every built-in model)
from deepgen_cli.engine.registry import (ALPHA_RANGE, RESOLUTION_RANGE, TAGS, ModelEntry, ModelSpec,  # noqa: F401
                                         alias, choices, create, declare, entry, names, parse_spec, parse_specs,
                                         register)
