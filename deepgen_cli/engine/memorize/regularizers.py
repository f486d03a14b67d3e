"""`--regularizer`: the explicit regularizers of Zhang et al. (2017, Table 1) and Pereyra et al. (2017) as a
sweep axis, each with the papers' default strength; and dropout set on any model that has dropout layers.
"""

from __future__ import annotations

from deepgen_cli.engine import models

REGULARIZERS = ("none", "wd", "dropout", "augment", "label-smoothing", "confidence-penalty", "all")
SINGLE = REGULARIZERS[1:-1]  # what "all" turns on together
FIELDS = {"wd": "weight_decay", "dropout": "dropout", "augment": "augment", "label-smoothing": "label_smoothing",
          "confidence-penalty": "confidence_penalty"}  # the config field (and flag) that sets each one's strength
# Default strengths, used where the strength flag is not given (0 / off):
DEFAULTS = {
    "weight_decay": 5e-4,  # Zhang et al.'s weight decay (their Table 1 runs)
    "dropout": 0.5,  # Srivastava et al.'s hidden-unit rate, the rate Arpit et al. and Pereyra's baselines use
    "augment": True,  # random crop (zero padding by side/8) and horizontal flip, Zhang et al.'s "random crop"
    "label_smoothing": 0.1,  # Pereyra et al.'s MNIST and CIFAR-10 label smoothing
    "confidence_penalty": 1.0,  # Pereyra et al.'s beta for the MNIST MLP (their plain, un-thresholded form)
}
OFF = {"weight_decay": 0.0, "dropout": 0.0, "augment": False, "label_smoothing": 0.0, "confidence_penalty": 0.0,
       "cp_threshold": None, "cp_anneal": 0}


def parts(name: str) -> tuple[str, ...]:
    """The single regularizers `name` turns on: "all" -> every one, "none" -> none."""
    return SINGLE if name == "all" else () if name == "none" else (name,)


def settings(config, name: str) -> dict:
    """Config field values for rows of regularizer `name`: every regularizer off but its own, each at the strength
    its flag gives (when not 0 / off) or else its default."""
    out = dict(OFF)
    for part in parts(name):
        f = FIELDS[part]
        out[f] = getattr(config, f) or DEFAULTS[f]
    if out["confidence_penalty"]:
        out["cp_threshold"], out["cp_anneal"] = config.cp_threshold, config.cp_anneal
    return out


def label(config) -> str:
    """The regularizer a run without --regularizer trains with, from its flags: "none", "wd", "wd+dropout"..."""
    on = [part for part in SINGLE if getattr(config, FIELDS[part])]
    return "+".join(on) or "none"


def used_fields(names) -> set[str]:
    """The strength fields that regularizers `names` read (unknown names, which check() refuses, read none)."""
    return {FIELDS[part] for name in names if name in REGULARIZERS for part in parts(name)}


def dropout_layers(model) -> list:
    from torch import nn  # here: the config's checks read this module, and --help must not wait for torch

    kinds = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
    return [m for m in model.modules() if isinstance(m, kinds)]


def set_dropout(model, p: float) -> int:
    """Set the rate of every dropout layer of `model` to p; returns how many there are."""
    layers = dropout_layers(model)
    for m in layers:
        m.p = p
    return len(layers)


def has_dropout(name: str) -> bool:
    """Model `name` can apply dropout: its builder takes a rate, or its default build has dropout layers
    (MobileNet v1's classifier, torchvision's AlexNet, SqueezeNet, MobileNet v2/v3): its "dropout" tag,
    which tests/test_models_all.py checks against the built network."""
    return "dropout" in models.entry(name).tags
