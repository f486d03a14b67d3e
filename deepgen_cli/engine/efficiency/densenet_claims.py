"""DenseNet's efficiency claims (Huang et al. 2017): the CIFAR models' parameter counts (Table 2), and
DenseNets reaching ResNets' ImageNet accuracy with fewer parameters (Fig. 3, Table 3)."""

from __future__ import annotations

from deepgen_cli.engine import models, stats
from deepgen_cli.engine.efficiency import published
from deepgen_cli.engine.outcome import Finding

# Huang et al. Table 2, parameters as printed (millions, one decimal).
TABLE_2 = {
    "densenet-bc-100-k12": ("DenseNet-BC (L=100, k=12)", 800_000),
    "densenet-40-k12": ("DenseNet (L=40, k=12)", 1_000_000),
}
# A count printed to one decimal in millions agrees with ours when ours rounds to it: within 0.05M.
PARAMS_TOLERANCE = 50_000
# ImageNet validation images behind torchvision's top-1; two models' accuracies count as comparable within
# two binomial SDs of their difference on this many images (about 0.5 points near 76%).
IMAGENET_VAL = 50_000


def table_2_findings(rows) -> list[Finding]:
    out = []
    for r in rows:
        if r.name not in TABLE_2:
            continue
        title, paper = TABLE_2[r.name]
        diff = r.params - paper
        out.append(Finding(f"{title} has {paper / 1e6:.1f}M parameters (Huang et al. 2017, Table 2)",
                           f"{r.model}: {r.params:,} parameters, {diff:+,} from {paper / 1e6:.1f}M "
                           f"(tolerance ±{PARAMS_TOLERANCE:,}: the table prints one decimal in millions)",
                           abs(diff) <= PARAMS_TOLERANCE, "architecture"))
    return out


def comparable_margin(a: float, b: float, n: int = IMAGENET_VAL) -> float:
    """Two binomial SDs of the difference of two accuracies a and b (fractions), each measured on n images
    (unpaired: published top-1 figures come without per-image results)."""
    return 2 * stats.difference_sd(a, b, n)


def _imagenet(rows, prefix: str) -> list[tuple[object, float]]:
    """(row, IMAGENET1K_V1 top-1) for the torchvision models of this family measured at 224."""
    out = []
    for r in rows:
        if not r.name.startswith(prefix) or r.resolution != 224:
            continue
        tv = models.entry(r.name).torchvision_name
        pub = published.original_recipe(tv) if tv else None
        if pub is not None:
            out.append((r, pub.top1))
    return out


def densenet_vs_resnet(rows, notes: list[str], analysis: dict) -> list[Finding]:
    """For each ResNet in the run, the DenseNet with the fewest parameters whose published top-1 is at least
    the ResNet's less the comparable margin; yes when every such DenseNet has fewer parameters."""
    resnets, densenets = _imagenet(rows, "resnet"), _imagenet(rows, "densenet")
    if not resnets or not densenets:
        return []
    pairs, unmatched = [], []
    for res, res_top1 in resnets:
        near = [(d, t) for d, t in densenets if t >= res_top1 - comparable_margin(res_top1, t)]
        if not near:
            unmatched.append(f"{res.model} ({100 * res_top1:.1f}%)")
            continue
        d, t = min(near, key=lambda dt: dt[0].params)
        pairs.append((res, res_top1, d, t))
    if unmatched:
        notes.append(f"no DenseNet in this run reaches the published top-1 of {', '.join(unmatched)} within two "
                     "binomial SDs on 50,000 images; add densenet169 or densenet201 to compare")
    if not pairs:
        return []
    newer = [f"{r.model} {100 * r.top1:.1f}%" for r, _, _, _ in pairs
             if r.top1 is not None and r.published_source and "IMAGENET1K_V1" not in r.published_source]
    if newer:
        notes.append(f"the table's pub. top-1 for {', '.join(newer)} is torchvision's DEFAULT weights, a 2021 recipe; "
                     "the DenseNet comparison uses IMAGENET1K_V1, trained as in the 2016-17 papers")
    analysis["densenet_vs_resnet"] = [
        {"resnet": r.model, "resnet_top1": rt, "resnet_params": r.params, "densenet": d.model, "densenet_top1": dt,
         "densenet_params": d.params, "params_ratio": r.params / d.params} for r, rt, d, dt in pairs]
    text = "; ".join(f"{d.model} {d.params / 1e6:.1f}M params, top-1 {100 * dt:.2f}% vs {r.model} "
                     f"{r.params / 1e6:.1f}M, {100 * rt:.2f}%: {r.params / d.params:.2f}x fewer"
                     for r, rt, d, dt in pairs)
    return [Finding("DenseNets reach the accuracy of ResNets with fewer parameters (Huang et al. 2017, Fig. 3: "
                    "DenseNet-201 with 20M about ResNet-101 with more than 40M)",
                    f"{text} (counted parameters; published top-1 of torchvision's IMAGENET1K_V1 weights, the "
                    "original recipes; comparable: within two binomial SDs of the difference on 50,000 images)",
                    all(r.params > d.params for r, _, d, _ in pairs), "published")]
