"""Published accuracies: torchvision's weight metadata (read at run time) and the MobileNet paper."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    top1: float | None  # fraction 0..1
    top5: float | None
    dataset: str
    source: str
    mult_adds: int | None = None  # as the source reports it
    params: int | None = None


# Howard et al. 2017: Table 6 (alpha at 224), Table 7 (rho at alpha=1) and Table 8, ImageNet top-1.
# keys: (alpha, resolution) -> (top-1 %, Mult-Adds in millions, params in millions)
MOBILENET_V1 = {
    (1.0, 224): (70.6, 569, 4.2),
    (0.75, 224): (68.4, 325, 2.6),
    (0.5, 224): (63.7, 149, 1.3),
    (0.25, 224): (50.6, 41, 0.5),
    (1.0, 192): (69.1, 418, 4.2),
    (1.0, 160): (67.2, 290, 4.2),
    (1.0, 128): (64.4, 186, 4.2),
    (0.5, 160): (60.2, 76, 1.32),  # Table 8
}
# Table 4: the same network with full convolutions.
MOBILENET_CONV = {(1.0, 224): (71.7, 4866, 29.3)}
# Huang et al. 2017, Table 2: DenseNet-BC (L=100, k=12), CIFAR-10 with augmentation, 4.51% error.
DENSENET_BC_100_K12 = Published(1 - 0.0451, None, "CIFAR-10+", "paper (Huang et al. 2017, Table 2)",
                                params=800_000)


def _paper(table: dict, alpha: float, resolution: int, table_name: str) -> Published | None:
    row = table.get((alpha, resolution))
    if row is None:
        return None
    top1, madds, params = row
    return Published(top1 / 100, None, "ImageNet-1k", f"paper (Howard et al. 2017, {table_name})",
                     int(madds * 1e6), int(params * 1e6))


def _torchvision(tv_name: str, resolution: int) -> Published | None:
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(tv_name)
    except ValueError:
        return None
    default = weights.DEFAULT
    meta = default.meta
    crop = getattr(default.transforms.keywords, "get", lambda *_: None)("crop_size") or 224
    if resolution != crop:
        return None  # published accuracy belongs to the evaluation resolution only
    metrics = meta.get("_metrics", {}).get("ImageNet-1K", {})
    top1, top5 = metrics.get("acc@1"), metrics.get("acc@5")
    ops = meta.get("_ops")
    return Published(top1 / 100 if top1 is not None else None, top5 / 100 if top5 is not None else None,
                     "ImageNet-1k", f"torchvision {tv_name} {default.name}",
                     int(ops * 1e9) if ops is not None else None, meta.get("num_params"))


def lookup(name: str, alpha: float | None, resolution: int, torchvision_name: str | None) -> Published | None:
    """What is published for this exact model, width and resolution; None where nothing is."""
    a = 1.0 if alpha is None else alpha
    if name == "mobilenet":
        return _paper(MOBILENET_V1, a, resolution, "Tables 6-8")
    if name == "mobilenet-conv":
        return _paper(MOBILENET_CONV, a, resolution, "Table 4")
    if name == "densenet-bc-100-k12":
        return DENSENET_BC_100_K12 if resolution == 32 else None
    if torchvision_name and a == 1.0:
        return _torchvision(torchvision_name, resolution)
    return None


def original_recipe(tv_name: str) -> Published | None:
    """torchvision's IMAGENET1K_V1 weights, trained with the original papers' recipes; for ResNets the
    DEFAULT (V2) comes from a 2021 recipe that adds 4-5 top-1 points, no like-for-like with 2017 DenseNets."""
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(tv_name)
    except ValueError:
        return None
    v1 = getattr(weights, "IMAGENET1K_V1", None)
    if v1 is None:
        return None
    metrics = v1.meta.get("_metrics", {}).get("ImageNet-1K", {})
    top1, top5 = metrics.get("acc@1"), metrics.get("acc@5")
    if top1 is None:
        return None
    return Published(top1 / 100, top5 / 100 if top5 is not None else None, "ImageNet-1k",
                     f"torchvision {tv_name} IMAGENET1K_V1", params=v1.meta.get("num_params"))
