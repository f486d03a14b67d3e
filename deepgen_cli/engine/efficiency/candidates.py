"""The models an efficiency run measures: what the user named (registry specs, a model file) and how to
build, load and count each one."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.models.loading import load_model_file, load_weights, parse_model_file


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


def candidates(config) -> list[Candidate]:
    out = []
    for text in config.models:
        spec = models.parse_spec(text)
        e = models.entry(spec.name)
        alpha = spec.alpha if spec.alpha is not None else (1.0 if e.width_multiplier else None)
        out.append(Candidate(text, spec.name, alpha, spec.input_side(), e.in_channels, e.torchvision_name,
                             spec.build))
    if config.model_file:
        file, factory, res = parse_model_file(config.model_file)
        out.append(Candidate(config.model_file, f"{file}:{factory}", None, res or 224, 3, None,
                             lambda: load_model_file(file, factory)))
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
    return torch.randn(batch, c.in_channels, c.resolution, c.resolution)


def cannot_run(c: Candidate, err: Exception) -> RunError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return RunError(f"--models: '{c.label}' cannot run at {c.resolution}x{c.resolution}: {first}; "
                    "try a larger @RESOLUTION")


def count(c: Candidate, model: nn.Module) -> measure.MultAdds:
    try:
        return measure.mult_adds(model, example_input(c, 1))
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
