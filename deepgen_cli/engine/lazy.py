"""An experiment package's names, found where they live: its torch-free config module first, then its engine.

Each experiment package (engine/NAME/) keeps its options, config and row in NAME/config.py, which imports no
torch, so `deepgen NAME --help`, usage errors, `report` and `compare` start at once; its engine, NAME/experiment.py,
imports torch and is imported only when one of its names is asked of the package (PEP 562's module __getattr__),
so `from deepgen_cli.engine.NAME import run` works as before."""

from __future__ import annotations

import importlib
import importlib.util


def engine_attribute(package: str, name: str):
    """`package`'s attribute `name` from its config module, else its experiment module (importing it, and torch)."""
    if name.startswith("__"):  # dunder lookups (__path__, __wrapped__ ...) never mean the engine: no torch for them
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    if importlib.util.find_spec(f"{package}.{name}") is not None:  # a submodule: the import system imports it
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    for part in ("config", "experiment"):
        module = importlib.import_module(f"{package}.{part}")
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
