"""The model registry: a dict of builders and a decorator; specs like `mobilenet:0.5@160`.

It imports no model: `deepgen_cli.engine.models` registers its builders here on import and re-exports
this module's functions, so callers import the models package and find the registry full."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable

from torch import nn

from deepgen_cli.engine.config import split_list
from deepgen_cli.engine.errors import UsageError

# Width multipliers outside this range either round channels to zero or are not a MobileNet.
ALPHA_RANGE = (0.05, 4.0)
# Input side in pixels: below 16 the stride-32 networks have nothing left; above 2048 is a typo.
RESOLUTION_RANGE = (16, 2048)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    description: str
    resolution: int  # default input side, pixels
    in_channels: int = 3
    width_multiplier: bool = False  # builder takes `width_mult` (alpha)
    torchvision_name: str | None = None  # for published weight metadata


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, *, description: str, resolution: int = 224, in_channels: int = 3,
             width_multiplier: bool = False, torchvision_name: str | None = None):
    """Decorator: file a builder (a function of keyword arguments returning a module) under `name`."""

    def deco(builder):
        _REGISTRY[name] = ModelEntry(name, builder, description, resolution, in_channels,
                                     width_multiplier, torchvision_name)
        return builder

    return deco


def names(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def entry(name: str) -> ModelEntry:
    reg = _REGISTRY
    if name not in reg:
        raise UsageError(f"--models: unknown model '{name}'; valid: {', '.join(sorted(reg))}")
    return reg[name]


def get(name: str, **kw) -> nn.Module:
    return entry(name).builder(**kw)


@dataclass(frozen=True)
class ModelSpec:
    """A model name with its width multiplier alpha and input resolution rho (pixels)."""

    name: str
    alpha: float | None = None
    resolution: int | None = None

    @property
    def label(self) -> str:
        text = self.name
        if self.alpha is not None:
            text += f":{self.alpha:g}"
        if self.resolution is not None:
            text += f"@{self.resolution}"
        return text

    def input_side(self) -> int:
        return self.resolution if self.resolution is not None else entry(self.name).resolution

    def build(self, **kw) -> nn.Module:
        if self.alpha is not None:
            kw["width_mult"] = self.alpha
        return get(self.name, **kw)


_SPEC = re.compile(r"^(?P<name>[^:@]+)(?::(?P<alpha>[^@]*))?(?:@(?P<res>.*))?$")


def parse_spec(text: str, flag: str = "--models") -> ModelSpec:
    """Parse `name[:alpha][@resolution]`, checking the name, alpha and resolution."""
    m = _SPEC.match(text.strip())
    if not m:
        raise UsageError(f"{flag}: cannot read '{text}'; write NAME, NAME:ALPHA or NAME:ALPHA@RESOLUTION")
    name = m["name"]
    e = entry(name)
    alpha = res = None
    if m["alpha"] is not None:
        if not e.width_multiplier:
            with_alpha = ", ".join(n for n, x in _REGISTRY.items() if x.width_multiplier)
            raise UsageError(f"{flag}: '{name}' takes no width multiplier; models that do: {with_alpha}")
        try:
            alpha = float(m["alpha"])
        except ValueError:
            alpha = None
        lo, hi = ALPHA_RANGE
        if alpha is None or not lo <= alpha <= hi:
            raise UsageError(f"{flag}: width multiplier in '{text}' must be a number in [{lo}, {hi}], e.g. mobilenet:0.5")
    if m["res"] is not None:
        lo, hi = RESOLUTION_RANGE
        try:
            res = int(m["res"])
        except ValueError:
            res = None
        if res is None or not lo <= res <= hi:
            raise UsageError(f"{flag}: resolution in '{text}' must be an integer in [{lo}, {hi}], e.g. mobilenet:1.0@160")
    return ModelSpec(name, alpha, res)


def parse_specs(text: str, flag: str = "--models") -> list[ModelSpec]:
    parts = split_list(text)
    if not parts:
        raise UsageError(f"{flag}: no model given; valid: {', '.join(names())}")
    return [parse_spec(p, flag) for p in parts]
