"""Every built-in model, declared without importing torch: name, lazy builder, description, input side,
channels and capability tags (engine/registry.py TAGS says what each promises; tests/test_models_all.py
builds every entry and checks its tags against the built network)."""

from __future__ import annotations

from deepgen_cli.engine.registry import alias, declare

_SMALL = "deepgen_cli.engine.models.small:"
_DIGITS = ("trainable", "digits")
declare("mlp1x512", _SMALL + "mlp1x512", description="MLP, one hidden layer of 512 units (Zhang 2017)",
        resolution=8, in_channels=1, tags=_DIGITS + ("dropout",))
declare("mlp1x8", _SMALL + "mlp1x8", description="MLP, one hidden layer of 8 units: too small to memorize "
        "(memorize's control)", resolution=8, in_channels=1, tags=_DIGITS + ("dropout",))
declare("mlp3x512", _SMALL + "mlp3x512", description="MLP, three hidden layers of 512 units (Zhang 2017)",
        resolution=8, in_channels=1, tags=_DIGITS + ("dropout",))
declare("cnn", _SMALL + "cnn", description="Small convnet: two conv-BN-ReLU blocks with pooling, then linear",
        resolution=8, in_channels=1, tags=_DIGITS + ("dropout", "batchnorm"))
declare("mlp-bn", _SMALL + "mlp_bn", description="MLP 128-128-128 with BatchNorm1d after each hidden layer "
        "(norm-compare)", resolution=8, in_channels=1, tags=_DIGITS + ("batchnorm",))
declare("cnn-deep", _SMALL + "cnn_deep", description="Convnet with 5 batch norms: 3x3 convs at side, side/2, "
        "side/4 (x2), FC 128", resolution=8, in_channels=1, tags=_DIGITS + ("batchnorm",))
declare("alexnet-small", _SMALL + "alexnet_small", description="Small AlexNet of Zhang 2017: 2 conv-pool-LRN, "
        "FC 384, 192", resolution=28, tags=_DIGITS + ("dropout",))
declare("inception-small", _SMALL + "inception_small", description="Small Inception of Zhang 2017 (~1.65M params)",
        resolution=28, tags=_DIGITS + ("dropout", "batchnorm"))
_PLACED = "deepgen_cli.engine.models.placement:"
declare("cnn-early", _PLACED + "cnn_early", description="4 conv layers of width 32, strided 1st and 2nd: downsampled "
        "early (downsample's baseline)", resolution=8, in_channels=1, tags=_DIGITS)
declare("cnn-late", _PLACED + "cnn_late", description="cnn-early with the strides moved to the 3rd and 4th layers: "
        "downsampled late (Iandola 2016, strategy 3)", resolution=8, in_channels=1, tags=_DIGITS)
_RES = "deepgen_cli.engine.models.residual:"
declare("resnet-small", _RES + "resnet_small", description="6 residual blocks of two 3x3 convs, width 16, no "
        "downsampling (drop-blocks)", resolution=8, in_channels=1, tags=_DIGITS)
declare("plain-small", _RES + "plain_small", description="resnet-small without its skip connections: a plain "
        "13-layer stack (drop-blocks' comparison)", resolution=8, in_channels=1, tags=_DIGITS)

_DENSE = "deepgen_cli.engine.models.densenet:"
declare("densenet-40-k12", _DENSE + "densenet_40_k12", description="DenseNet L=40 k=12, no bottleneck or "
        "compression (Huang 2017, Fig. 5), 32x32 input", resolution=32, tags=("trainable", "dense-sources"))
declare("densenet-small", _DENSE + "densenet_small", description="DenseNet with 3 blocks of 4 layers, k=12, no "
        "bottleneck (for 8x8 digits; `reuse`'s default)", resolution=8, tags=_DIGITS + ("dense-sources",))
declare("densenet-bc-100-k12", "deepgen_cli.engine.models.densenet_cifar:densenet_bc_100_k12",
        description="DenseNet-BC L=100 k=12 for CIFAR (Huang 2017), 32x32 input", resolution=32, tags=("trainable",))

_MOBILE = "deepgen_cli.engine.models.mobilenet_v1:"
_ALPHA = ("trainable", "dropout", "width-multiplier")
declare("mobilenet", _MOBILE + "mobilenet", description="MobileNet v1 (Howard 2017), depthwise separable; "
        "mobilenet:ALPHA@RES", tags=_ALPHA)
declare("mobilenet-conv", _MOBILE + "mobilenet_conv", description="MobileNet v1 with standard 3x3 convs instead "
        "(paper Table 4)", tags=_ALPHA)
alias("mobilenet_v1", "mobilenet")

# torchvision's classifiers this project reads or recommends: name -> (torchvision name, description, extra tags)
_TV = ("trainable", "torchvision")
ZOO = {
    "squeezenet": ("squeezenet1_0", "SqueezeNet 1.0 (Iandola 2016), torchvision", ("dropout",)),
    "squeezenet1_1": ("squeezenet1_1", "SqueezeNet 1.1, 2.4x fewer Mult-Adds than 1.0, torchvision", ("dropout",)),
    "mobilenet_v2": ("mobilenet_v2", "MobileNet v2 (Sandler 2018), torchvision; mobilenet_v2:ALPHA",
                     ("dropout", "width-multiplier")),
    "mobilenet_v3_small": ("mobilenet_v3_small", "MobileNet v3 small (Howard 2019), torchvision", ("dropout",)),
    "mobilenet_v3_large": ("mobilenet_v3_large", "MobileNet v3 large (Howard 2019), torchvision", ("dropout",)),
    "densenet121": ("densenet121", "DenseNet-121 (Huang 2017), ImageNet, torchvision", ()),
    "densenet169": ("densenet169", "DenseNet-169 (Huang 2017), ImageNet, torchvision", ()),
    "densenet201": ("densenet201", "DenseNet-201 (Huang 2017), ImageNet, torchvision", ()),
    "alexnet": ("alexnet", "AlexNet (Krizhevsky 2012), torchvision's one-GPU variant", ("dropout",)),
    "resnet18": ("resnet18", "ResNet-18 (He 2016), torchvision", ()),
    "resnet50": ("resnet50", "ResNet-50 (He 2016), torchvision", ()),
    "resnet101": ("resnet101", "ResNet-101 (He 2016), torchvision", ()),
    "vit_b_16": ("vit_b_16", "ViT-B/16 (Dosovitskiy 2021), torchvision; 224x224 input only", ("dropout",)),
}
_ZOO = "deepgen_cli.engine.models.zoo:"
for _name, (_tv, _desc, _tags) in ZOO.items():
    declare(_name, _ZOO + "torchvision_model", _tv, description=_desc, tags=_TV + _tags, torchvision_name=_tv)
    if _tv != _name:
        alias(_tv, _name)
declare("inception_v3", _ZOO + "inception_v3", description="Inception v3 (Szegedy 2016), torchvision, 299x299; "
        "no auxiliary head", resolution=299, tags=_TV + ("dropout",), torchvision_name="inception_v3")

# The rest of torchvision 0.29's classification models (torchvision.models.list_models(module=torchvision.models);
# tests/test_models_all.py checks this list against the installed torchvision), for counting and timing in
# `efficiency`, and trained by memorize and probe like the curated ones (googlenet excepted: in training mode
# it returns its auxiliary outputs too).
OTHER_TORCHVISION = (
    "convnext_base", "convnext_large", "convnext_small", "convnext_tiny", "densenet161", "efficientnet_b0",
    "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
    "efficientnet_b7", "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet", "maxvit_t",
    "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf",
    "regnet_x_3_2gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf",
    "regnet_y_1_6gf", "regnet_y_32gf", "regnet_y_3_2gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf",
    "resnet152", "resnet34", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "swin_b", "swin_s", "swin_t", "swin_v2_b",
    "swin_v2_s", "swin_v2_t", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32", "wide_resnet101_2", "wide_resnet50_2",
)
# Input sides other than 224: the crop of torchvision's DEFAULT weights, where their published accuracy holds.
CROP = {"efficientnet_b1": 240, "efficientnet_b2": 288, "efficientnet_b3": 300, "efficientnet_b4": 380,
        "efficientnet_b5": 456, "efficientnet_b6": 528, "efficientnet_b7": 600, "efficientnet_v2_l": 480,
        "efficientnet_v2_m": 480, "efficientnet_v2_s": 384, "regnet_y_128gf": 384, "swin_v2_b": 256,
        "swin_v2_s": 256, "swin_v2_t": 256}  # vit_h_14's are 518, but built without them it takes 224 only
# The families built without any dropout layer (the rest have one, in the classifier at least).
NO_DROPOUT = ("convnext_", "densenet", "regnet_", "resnet", "resnext", "shufflenet_", "wide_resnet")
for _tv in OTHER_TORCHVISION:
    _tags = ("torchvision",) + (() if _tv == "googlenet" else ("trainable",)) \
        + (() if _tv.startswith(NO_DROPOUT) else ("dropout",))
    declare(_tv, _ZOO + "torchvision_model", _tv, description=f"torchvision {_tv}, built without weights",
            resolution=CROP.get(_tv, 224), tags=_tags, torchvision_name=_tv, listed=False)
