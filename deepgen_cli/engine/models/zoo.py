"""torchvision's classifiers, built with random weights (nothing is downloaded); torchvision is imported at
the first build, not when the registry is read (engine/models/catalog.py declares the names)."""

from __future__ import annotations

from torch import nn


def torchvision_model(tv_name: str, num_classes: int = 1000, **options) -> nn.Module:
    """Any of torchvision's classification models by its torchvision name. No in_channels: their stems take
    RGB, and the data layer repeats gray channels."""
    import torchvision

    return torchvision.models.get_model(tv_name, weights=None, num_classes=num_classes, **options)


def inception_v3(num_classes: int = 1000, **options) -> nn.Module:
    """Zhang et al.'s ImageNet network. Without the auxiliary classifier a training forward returns plain
    logits (with it, a named tuple the training loop does not read); init_weights: its own truncated normal."""
    import torchvision

    return torchvision.models.inception_v3(weights=None, num_classes=num_classes, aux_logits=False,
                                           init_weights=True, **options)
