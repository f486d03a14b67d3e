"""Every registered model, built through the one factory and run once; its tags checked against the network.

Default run: every curated model on torch's meta device (shapes only, nothing allocated or initialized) and
the digit nets for real at 8x8. `-m slow`: the rest of torchvision's classifiers on the meta device, and every
other model for real (CIFAR-sized ones at 32x32, torchvision's at the smallest side they run at), batch
2, 3 classes."""

import pytest
import torch
from torch import nn

from deepgen_cli.engine import models
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.memorize.regularizers import dropout_layers
from deepgen_cli.engine.models import catalog
from deepgen_cli.engine.models.densenet import DenseNet

CLASSES = 3  # not 10 or 1000: a builder that ignored num_classes would show


def _input_of(name: str) -> tuple[dict, torch.Size]:
    """Build keywords and input shape at the model's smallest sensible input: 8x8 gray for the digit nets,
    32x32 for the CIFAR-sized ones, torchvision's at their registered side;
    batch 2, as batch norm in training mode needs two values per channel."""
    e = models.entry(name)
    # MobileNet v1 at 32: five stride-2 stages leave 1x1, the smallest map it runs at
    side = 8 if "digits" in e.tags else e.resolution if "torchvision" in e.tags else min(e.resolution, 32)
    channels = 1 if e.takes("in_channels") and "digits" in e.tags else e.in_channels
    return dict(num_classes=CLASSES, in_channels=channels, image_size=side), torch.Size((2, channels, side, side))


def _smallest(name: str, kw: dict, shape: torch.Size) -> tuple[dict, torch.Size]:
    """A torchvision model at the smallest of 32, 64 and 128 pixels at which it runs on the meta device
    (convnets pool adaptively; ViT and MaxViT take only their registered side); RegNets, which cannot be
    built there, at 32."""
    for side in (32, 64, 128):
        small = torch.Size((*shape[:2], side, side))
        try:
            with torch.device("meta"):
                models.create(name, **kw).train()(torch.zeros(small))
            return {**kw, "image_size": side}, small
        except NotImplementedError:
            return {**kw, "image_size": side}, small
        except Exception:  # noqa: BLE001  (any failure at this side: try the next)
            continue
    return kw, shape


def _check(name: str, model: nn.Module, out) -> None:
    e = models.entry(name)
    if "trainable" in e.tags:
        assert isinstance(out, torch.Tensor), f"{name}: a training forward returned {type(out).__name__}"
    logits = out if isinstance(out, torch.Tensor) else out[0]  # googlenet's training outputs: logits first
    assert tuple(logits.shape) == (2, CLASSES)
    layers = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert "batchnorm" not in e.tags or layers, f"{name}: tagged batchnorm, has no batch norm layer"
    can_drop = bool(dropout_layers(model)) or e.declares("dropout")
    assert ("dropout" in e.tags) == can_drop, f"{name}: dropout tag disagrees with the network"
    assert ("dense-sources" in e.tags) == isinstance(model, DenseNet)


def _marked(names, slow) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if slow(models.entry(n)) else n for n in names]


@pytest.mark.parametrize("name", _marked(models.names(), lambda e: not e.listed))
def test_every_model_builds_and_runs_on_the_meta_device(name, one_thread):
    kw, shape = _input_of(name)
    with torch.device("meta"):
        try:
            model = models.create(name, **kw)
        except NotImplementedError as err:  # RegNets read tensor values while building: the real run covers them
            assert "meta tensor" in str(err) and name.startswith("regnet_")
            pytest.skip(f"{name} builds only with real tensors")
        out = model.train()(torch.zeros(shape))
    _check(name, model, out)


REAL = _marked(models.names(), lambda e: "digits" not in e.tags)


@pytest.mark.parametrize("name", REAL)
def test_every_model_builds_and_runs_for_real(name, one_thread):
    kw, shape = _input_of(name)
    if "torchvision" in models.entry(name).tags:
        kw, shape = _smallest(name, kw, shape)
    torch.manual_seed(0)
    model = models.create(name, **kw)
    out = model.train()(torch.randn(shape))
    _check(name, model, out)
    assert torch.isfinite(out if isinstance(out, torch.Tensor) else out[0]).all()


def test_width_multiplier_models_shrink_with_alpha():
    for name in models.names(tag="width-multiplier"):
        with torch.device("meta"):
            full, half = models.create(name), models.create(name, width_mult=0.5)
        # MobileNet v1 scales every layer (about alpha^2 of the weights); v2 keeps its last 1280 channels
        assert sum(p.numel() for p in half.parameters()) < 0.6 * sum(p.numel() for p in full.parameters())


def test_catalog_holds_every_torchvision_classifier_and_its_aliases():
    import torchvision

    listed = {models.entry(n).torchvision_name for n in models.names(tag="torchvision")}
    assert listed == set(torchvision.models.list_models(module=torchvision.models))
    assert models.entry("squeezenet1_0").name == "squeezenet"  # torchvision's name for an entry of ours
    assert models.parse_spec("squeezenet1_0@160").label == "squeezenet@160"
    assert len(catalog.OTHER_TORCHVISION) == 66 and not set(catalog.OTHER_TORCHVISION) & set(catalog.ZOO)


def test_a_duplicate_name_raises():
    with pytest.raises(ValueError, match="'cnn' is already registered"):
        models.register("cnn", description="again")(lambda **kw: None)
    with pytest.raises(ValueError, match="'squeezenet1_0' is already registered"):
        models.alias("squeezenet1_0", "cnn")
    with pytest.raises(ValueError, match="unknown tags"):
        models.register("tagged-wrong", description="x", tags=("batchnorn",))(lambda **kw: None)
    assert "tagged-wrong" not in models.names()


def test_unknown_names_suggest_the_close_ones():
    with pytest.raises(UsageError, match=r"^--models: unknown model 'squeezenett'; did you mean squeezenet\? valid: "):
        models.entry("squeezenett")
    with pytest.raises(UsageError, match="did you mean densenet-small[?]") as err:
        models.entry("densenet-smal", "--model", tag="dense-sources")
    assert str(err.value).endswith("valid: densenet-40-k12, densenet-small")  # only what reuse can read
    with pytest.raises(UsageError) as far:
        models.entry("zzz")
    assert "did you mean" not in str(far.value)


def test_the_factory_passes_each_builder_only_what_it_takes():
    assert models.create("resnet18", num_classes=CLASSES, image_size=32).fc.out_features == CLASSES  # size ignored
    assert models.create("mlp1x512", in_channels=3, image_size=4, num_classes=2)[1].in_features == 3 * 4 * 4
    with pytest.raises(UsageError, match="--model resnet18: takes 3-channel images, got 1"):
        models.create("resnet18", in_channels=1)
    with pytest.raises(UsageError, match="--model mlp-bn: takes no option 'dropout'"):
        models.create("mlp-bn", dropout=0.5)


def test_names_tags_and_usage_errors_need_no_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom deepgen_cli.engine import models\n"
            "assert models.names(tag='batchnorm') == ['cnn', 'cnn-deep', 'inception-small', 'mlp-bn']\n"
            "try:\n    models.parse_spec('squeezenett')\nexcept Exception as err:\n    print(err)\n"
            "print('torch' in sys.modules, 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "False False" and "did you mean squeezenet?" in out


def test_cli_lists_by_tag_and_refuses_a_typo_in_one_line(cli):
    listed = cli("models", "--tag", "dense-sources", "--format", "csv")
    assert listed.exit_code == 0
    assert [line.split(",")[0] for line in listed.stdout.splitlines()[1:]] == ["densenet-40-k12", "densenet-small"]
    typo = cli("efficiency", "--models", "mobilenet,squeezenett")
    assert typo.exit_code == 2 and typo.stderr.count("\n") == 1
    assert "--models: unknown model 'squeezenett'; did you mean squeezenet? valid: alexnet," in typo.stderr
    assert cli("models", "--tag", "bn").exit_code == 2
