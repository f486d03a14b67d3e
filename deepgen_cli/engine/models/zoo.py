"""torchvision's classifiers, built with random weights (nothing is downloaded)."""

from __future__ import annotations

import torchvision
from torch import nn

from deepgen_cli.engine.registry import register

# name -> (torchvision builder name, description, takes width_mult)
ZOO = {
    "squeezenet": ("squeezenet1_0", "SqueezeNet 1.0 (Iandola 2016), torchvision", False),
    "squeezenet1_1": ("squeezenet1_1", "SqueezeNet 1.1, 2.4x fewer Mult-Adds than 1.0, torchvision", False),
    "mobilenet_v2": ("mobilenet_v2", "MobileNet v2 (Sandler 2018), torchvision; mobilenet_v2:ALPHA", True),
    "mobilenet_v3_small": ("mobilenet_v3_small", "MobileNet v3 small (Howard 2019), torchvision", False),
    "mobilenet_v3_large": ("mobilenet_v3_large", "MobileNet v3 large (Howard 2019), torchvision", False),
    "densenet121": ("densenet121", "DenseNet-121 (Huang 2017), ImageNet, torchvision", False),
    "densenet169": ("densenet169", "DenseNet-169 (Huang 2017), ImageNet, torchvision", False),
    "densenet201": ("densenet201", "DenseNet-201 (Huang 2017), ImageNet, torchvision", False),
    "alexnet": ("alexnet", "AlexNet (Krizhevsky 2012), torchvision's one-GPU variant", False),
    "resnet18": ("resnet18", "ResNet-18 (He 2016), torchvision", False),
    "resnet50": ("resnet50", "ResNet-50 (He 2016), torchvision", False),
    "resnet101": ("resnet101", "ResNet-101 (He 2016), torchvision", False),
    "vit_b_16": ("vit_b_16", "ViT-B/16 (Dosovitskiy 2021), torchvision; 224x224 input only", False),
}


def _builder(tv_name: str):
    def build(num_classes: int = 1000, **kw) -> nn.Module:
        kw.pop("in_channels", 3)  # torchvision's stems take RGB; the data layer repeats gray channels
        return torchvision.models.get_model(tv_name, weights=None, num_classes=num_classes, **kw)

    return build


for _name, (_tv, _desc, _wm) in ZOO.items():
    register(_name, description=_desc, width_multiplier=_wm, torchvision_name=_tv)(_builder(_tv))


@register("inception_v3", description="Inception v3 (Szegedy 2016), torchvision, 299x299; no auxiliary head",
          resolution=299, torchvision_name="inception_v3")
def inception_v3(num_classes: int = 1000, **kw) -> nn.Module:
    """Zhang et al.'s ImageNet network. Without the auxiliary classifier a training forward returns plain
    logits (with it, a named tuple the training loop does not read); init_weights: its own truncated normal."""
    kw.pop("in_channels", 3)
    return torchvision.models.inception_v3(weights=None, num_classes=num_classes, aux_logits=False,
                                           init_weights=True, **kw)
