"""The model registry: entries with capability tags, the one factory `create`, specs like `mobilenet:0.5@160`.

It imports neither torch nor any model: `engine/models/catalog.py` declares the built-in entries with lazy
builders ("module:function", imported at the first build), so names, tags and usage errors stay torch-free.
Which keywords a builder takes is read here, once per entry, from its signature; callers never inspect it."""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

from deepgen_cli.engine.config import split_list
from deepgen_cli.engine.errors import UsageError

# Width multipliers outside this range either round channels to zero or are not a MobileNet.
ALPHA_RANGE = (0.05, 4.0)
# Input side in pixels: below 16 the stride-32 networks have nothing left; above 2048 is a typo.
RESOLUTION_RANGE = (16, 2048)
# The three sizes every caller knows; a builder gets each only when its signature names it.
SIZES = ("num_classes", "in_channels", "image_size")
# Tags: what each promises, worded to follow "NAME is not ..." in a usage error; who reads it in brackets.
# tests/test_models_all.py checks the checkable ones against every built network.
TAGS = {
    "trainable": "a model whose training forward returns plain logits (what memorize and probe train)",
    "digits": "a model sized for 8x8 digits and quick on a CPU (small tests and default runs)",
    "batchnorm": "a plain stack whose batch norm layers norm-compare swaps",
    "dense-sources": "a DenseNet whose layers record their input channels by source (what reuse reads)",
    "dropout": "a model with dropout layers or a dropout rate (memorize's dropout regularizer)",
    "width-multiplier": "a model with a width multiplier alpha (NAME:ALPHA)",
    "torchvision": "one of torchvision's classifiers, built without weights (nothing is downloaded)",
}


class Lazy:
    """A builder named "package.module:function" (plus leading arguments), imported at its first call."""

    def __init__(self, target: str, *args):
        self.target, self.args = target, args

    @functools.cached_property
    def function(self) -> Callable:
        module, _, attr = self.target.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return functools.partial(fn, *self.args) if self.args else fn

    def __call__(self, **kw):
        return self.function(**kw)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable  # keyword arguments -> nn.Module
    description: str
    resolution: int  # default input side, pixels
    in_channels: int = 3  # what the builder makes when not given in_channels
    tags: frozenset = frozenset()
    torchvision_name: str | None = None  # for published weight metadata
    listed: bool = True  # False: one of torchvision's classifiers added wholesale, left out of long choice lists
    _keywords: dict = field(default_factory=dict, compare=False, repr=False)  # cache: the builder's signature

    @property
    def width_multiplier(self) -> bool:
        return "width-multiplier" in self.tags

    def keywords(self) -> tuple[set[str], bool]:
        """(keywords the builder names, whether it takes any other keyword too); read once."""
        if not self._keywords:
            fn = self.builder.function if isinstance(self.builder, Lazy) else self.builder
            params = inspect.signature(fn).parameters.values()
            self._keywords["named"] = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
            self._keywords["any"] = any(p.kind is p.VAR_KEYWORD for p in params)
        return self._keywords["named"], self._keywords["any"]

    def declares(self, keyword: str) -> bool:
        """The builder's signature names `keyword` (not only a **kw it passes on)."""
        return keyword in self.keywords()[0]

    def takes(self, keyword: str) -> bool:
        """The builder uses `keyword`: one of SIZES only when it names it, an option also through **kw."""
        named, anything = self.keywords()
        return keyword in named or (anything and keyword not in SIZES)


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}  # other names for an entry, e.g. torchvision's squeezenet1_0 -> squeezenet


def register(name: str, *, description: str, resolution: int = 224, in_channels: int = 3, tags=(),
             torchvision_name: str | None = None, listed: bool = True):
    """Decorator: file a builder (a function of keyword arguments returning a module) under `name`.
    A name already taken (as a name or an alias) raises: two builders under one name is a bug."""

    def deco(builder):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"model '{name}' is already registered")
        unknown = set(tags) - set(TAGS)
        if unknown:
            raise ValueError(f"model '{name}': unknown tags {sorted(unknown)}; known: {', '.join(TAGS)}")
        _REGISTRY[name] = ModelEntry(name, builder, description, resolution, in_channels, frozenset(tags),
                                     torchvision_name, listed)
        return builder

    return deco


def declare(name: str, target: str, *args, **kw) -> None:
    """register() with a Lazy builder: `target` is "package.module:function", imported at the first build."""
    register(name, **kw)(Lazy(target, *args))


def alias(other: str, name: str) -> None:
    if other in _REGISTRY or other in _ALIASES:
        raise ValueError(f"model '{other}' is already registered")
    _ALIASES[other] = name


def names(pattern: str = "*", tag: str | None = None) -> list[str]:
    """Registered names matching the shell pattern, and carrying `tag` when given; sorted."""
    return sorted(n for n, e in _REGISTRY.items()
                  if fnmatch.fnmatchcase(n, pattern) and (tag is None or tag in e.tags))


def choices(tag: str | None = None) -> str:
    """The valid names for an error line: the listed ones, with torchvision's other classifiers summed up."""
    shown = [n for n in names(tag=tag) if _REGISTRY[n].listed]
    rest = len(names(tag=tag)) - len(shown)
    return ", ".join(shown) + (f", or any of torchvision's {rest} other classifiers (deepgen models --tag {tag or 'torchvision'})" if rest else "")


def suggestions(name: str, tag: str | None = None, cutoff: float = 0.75, margin: float = 0.05) -> list[str]:
    """The names (aliases resolved) closest to a mistyped one: difflib ratio at least `cutoff`, and within
    `margin` of the best, so a one-letter typo gets its one name ("squeezenett" -> squeezenet)."""
    scored = {}
    for candidate in names(tag=tag) + [a for a, n in _ALIASES.items() if tag is None or tag in _REGISTRY[n].tags]:
        ratio = difflib.SequenceMatcher(None, name, candidate).ratio()
        canonical = _ALIASES.get(candidate, candidate)
        scored[canonical] = max(ratio, scored.get(canonical, 0.0))
    best = max(scored.values(), default=0.0)
    return sorted((n for n, r in scored.items() if r >= cutoff and r >= best - margin), key=lambda n: -scored[n])[:3]


def entry(name: str, flag: str = "--models", tag: str | None = None, why: str | None = None) -> ModelEntry:
    """The entry of `name` (or of its alias). Unknown: a usage error that suggests close names; known but
    without `tag`: one that says `why` (default: what the tag promises)."""
    found = _REGISTRY.get(_ALIASES.get(name, name))
    if found is None:
        close = suggestions(name, tag)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(f"{flag}: unknown model '{name}'; {hint}valid: {choices(tag)}")
    if tag is not None and tag not in found.tags:
        raise UsageError(f"{flag}: '{name}' is not {why or TAGS[tag]}; "
                         f"valid: {choices(tag)}")
    return found


def create(name: str, *, num_classes: int | None = None, in_channels: int | None = None,
           image_size: int | None = None, **options):
    """The one model factory. Sizes left None take the builder's defaults; image_size goes only to builders
    that need it (global pooling sizes the rest); in_channels to those that take it, and to any other only
    if it matches what it builds. Options (width_mult, dropout, ...) go to builders that take them."""
    e = entry(name)
    kw = {k: v for k, v in (("num_classes", num_classes), ("image_size", image_size)) if v is not None and e.takes(k)}
    if in_channels is not None:
        if e.takes("in_channels"):
            kw["in_channels"] = in_channels
        elif in_channels != e.in_channels:
            raise UsageError(f"--model {name}: takes {e.in_channels}-channel images, got {in_channels}")
    for key, value in options.items():
        if not e.takes(key):
            raise UsageError(f"--model {name}: takes no option '{key}'")
        kw[key] = value
    return e.builder(**kw)


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

    def build(self, **kw):
        if self.alpha is not None:
            kw["width_mult"] = self.alpha
        return create(self.name, **kw)


_SPEC = re.compile(r"^(?P<name>[^:@]+)(?::(?P<alpha>[^@]*))?(?:@(?P<res>.*))?$")


def parse_spec(text: str, flag: str = "--models") -> ModelSpec:
    """Parse `name[:alpha][@resolution]`, checking the name, alpha and resolution; an alias gives its entry."""
    m = _SPEC.match(text.strip())
    if not m:
        raise UsageError(f"{flag}: cannot read '{text}'; write NAME, NAME:ALPHA or NAME:ALPHA@RESOLUTION")
    e = entry(m["name"], flag)
    alpha = res = None
    if m["alpha"] is not None:
        if not e.width_multiplier:
            raise UsageError(f"{flag}: '{m['name']}' takes no width multiplier; models that do: "
                             f"{', '.join(names(tag='width-multiplier'))}")
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
    return ModelSpec(e.name, alpha, res)


def parse_specs(text: str, flag: str = "--models") -> list[ModelSpec]:
    parts = split_list(text)
    if not parts:
        raise UsageError(f"{flag}: no model given; valid: {choices()}")
    return [parse_spec(p, flag) for p in parts]
