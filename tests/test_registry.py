"""The model registry and the NAME[:ALPHA][@RESOLUTION] spec."""

import pytest

from deepgen_cli.engine import models, registry
from deepgen_cli.engine.errors import UsageError


def test_names_lists_with_wildcards():
    assert models.names("mobilenet*") == ["mobilenet", "mobilenet-conv", "mobilenet_v2",
                                            "mobilenet_v3_large", "mobilenet_v3_small"]
    assert {"squeezenet", "squeezenet1_1", "densenet121", "densenet-bc-100-k12", "alexnet",
            "resnet18"} <= set(models.names())


def test_spec_parses_alpha_and_resolution():
    spec = models.parse_spec("mobilenet:0.5@160")
    assert (spec.name, spec.alpha, spec.resolution, spec.label) == ("mobilenet", 0.5, 160, "mobilenet:0.5@160")
    assert models.parse_spec("squeezenet").input_side() == 224
    assert models.parse_spec("densenet-bc-100-k12").input_side() == 32


def test_builders_take_keyword_arguments():
    model = models.create("mobilenet", width_mult=0.25, num_classes=7)
    assert model.classifier[-1].out_features == 7
    assert model.features[0][0].out_channels == 8  # 32 * 0.25


def test_register_decorator_files_a_builder():
    @models.register("tiny-test-net", description="test only", resolution=4)
    def build(**kw):
        import torch

        return torch.nn.Linear(1, 1)

    try:
        assert models.entry("tiny-test-net").resolution == 4
        assert "tiny-test-net" in models.names("tiny-*")
    finally:
        registry._REGISTRY.pop("tiny-test-net")


@pytest.mark.parametrize("text,needle", [
    ("nosuchnet", "valid: alexnet"),
    ("mobilenet:7", "[0.05, 4.0]"),
    ("mobilenet:abc", "width multiplier"),
    ("mobilenet:0", "width multiplier"),
    ("squeezenet:0.5", "takes no width multiplier"),
    ("mobilenet@8", "resolution"),
    ("mobilenet@x", "resolution"),
])
def test_bad_specs_name_the_flag_and_the_valid_choices(text, needle):
    with pytest.raises(UsageError) as err:
        models.parse_spec(text)
    assert str(err.value).startswith("--models:") and needle in str(err.value)


def test_empty_model_list_is_refused():
    with pytest.raises(UsageError, match="--models: no model given"):
        models.parse_specs(" , ")
