"""The models an efficiency run measures: what the user named (registry specs, a model file) and how to
build, load and count each one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.models.loading import load_model_file, load_weights, parse_model_call

# What `deepgen efficiency` measures when neither --models nor --model-file is given.
DEFAULT_MODELS = ("squeezenet", "mobilenet")


@dataclass
class Candidate:
    """A model to measure: what the user named, and how to build it."""

    label: str
    name: str
    alpha: float | None
    resolution: int
    in_channels: int
    torchvision_name: str | None
    build: object  # () -> nn.Module
    height: int = 0  # input rows; 0: resolution (square)
    flag: str = "--models"  # the flag that named it, for error messages
    shape_given: bool = False  # the input came from --input-shape

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one input."""
        return self.in_channels, self.height or self.resolution, self.resolution

    @property
    def shape_text(self) -> str:
        return "x".join(map(str, self.shape))


def candidates(config) -> list[Candidate]:
    """The models named by --models and --model-file; DEFAULT_MODELS when neither is given. --input-shape
    CxHxW replaces every model's input (channels and a non-square side): width is `resolution`."""
    shape = getattr(config, "input_shape", None)
    out = []
    for text in config.models if config.models is not None else (() if config.model_file else DEFAULT_MODELS):
        spec = models.parse_spec(text)
        e = models.entry(spec.name)
        alpha = spec.alpha if spec.alpha is not None else (1.0 if e.width_multiplier else None)
        if shape and "@" in text:
            raise UsageError(f"--input-shape: '{text}' also gives a resolution; give the input once, with "
                             f"--input-shape {shape[0]}x{spec.resolution}x{spec.resolution} or {spec.name} alone")
        c, h, w = shape or (e.in_channels, spec.input_side(), spec.input_side())
        out.append(Candidate(text, spec.name, alpha, w, c, e.torchvision_name, spec.build, height=h,
                             shape_given=bool(shape)))
    if config.model_file:
        file, factory, kwargs, res = parse_model_call(config.model_file)
        if shape and res:
            raise UsageError(f"--input-shape: --model-file '{config.model_file}' also gives @{res}; drop one of them")
        c, h, w = shape or (3, res or 224, res or 224)
        out.append(Candidate(config.model_file, f"{file}:{factory}", None, w, c, None,
                             lambda: load_model_file(file, factory, kwargs), height=h, flag="--model-file",
                             shape_given=bool(shape)))
    if not out:
        raise UsageError(f"--models: no model given; valid: {', '.join(models.names())}")
    if config.weights and len(out) != 1:
        raise UsageError("--weights: give exactly one model (in --models or --model-file) to load them into")
    if config.by_layer and len(out) != 1:
        raise UsageError("--by-layer: give exactly one model; the breakdown is per module of that model")
    return out


def instantiate(c: Candidate, config) -> nn.Module:
    model = c.build()
    if config.weights:
        load_weights(model, config.weights)
    return model.eval()


def example_input(c: Candidate, batch: int) -> torch.Tensor:
    return torch.randn(batch, *c.shape)


def cannot_run(c: Candidate, err: Exception) -> RunError:
    """The model failed on its input: a line naming the flag that gave the model and a fix that can work."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    given = f"{c.flag}: '{c.label}' cannot run on a {c.shape_text} input: {first}; "
    channels = re.search(r"to have (\d+) channels", first)
    if channels:
        return RunError(given + f"it takes {channels[1]} channels: give --input-shape "
                        f"{channels[1]}x{c.shape[1]}x{c.shape[2]}")
    if re.search(r"too small|greater than input size|Kernel size can't", first):
        side = max(4 * c.resolution, 32)
        fix = f"--input-shape {c.shape[0]}x{side}x{side}" if c.shape_given or c.flag == "--model-file" else \
            f"{c.name}@{side} in --models (or --input-shape {c.shape[0]}x{side}x{side})"
        return RunError(given + f"the input is too small for its layers: try {fix}")
    return RunError(given + "give the input it takes with --input-shape CxHxW (channels, height, width)")


def count(c: Candidate, model: nn.Module, batch: int = 1) -> measure.MultAdds:
    """Mult-Adds per example, and the activation bytes of a forward pass at `batch`."""
    try:
        return measure.mult_adds(model, example_input(c, batch), batch)
    except RuntimeError as err:
        raise cannot_run(c, err) from None


def ordered(cands: list[Candidate], baseline: str | None) -> list[Candidate]:
    """The baseline first (every other row's ratios need it), then the rest in the order given."""
    if baseline is None:
        return cands
    match = [c for c in cands if baseline in (c.label, c.name)]
    if not match:
        raise UsageError(f"--baseline: '{baseline}' is not among the models; valid: {', '.join(c.label for c in cands)}")
    return [match[0]] + [c for c in cands if c is not match[0]]


def batch_fits(config, found: list[Candidate]) -> None:
    """UsageError when one timed batch's input alone would not fit: refused before anything is allocated, with
    the size it would take (the activations need more still)."""
    from deepgen_cli.engine.data import memory

    for c in found:
        need = config.batch_size * c.shape[0] * c.shape[1] * c.shape[2] * (2 if config.half else memory.FLOAT_BYTES)
        ram = memory.available_ram()
        if need > memory.MEMORY_FRACTION * ram:
            raise UsageError(f"--batch-size: {config.batch_size:,} images of {c.shape_text} for {c.label} take "
                             f"{need / 2 ** 30:,.1f} GiB as input alone, more than "
                             f"{memory.MEMORY_FRACTION:.0%} of the {ram / 2 ** 30:.1f} GiB of RAM available; give a "
                             f"smaller --batch-size")
