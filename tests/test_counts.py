"""Exact parameter and Mult-Add counts: hand-computed small cases and the papers' figures."""

import pytest
import torch
from torch import nn

from deepgen_cli.engine import measure, models
from deepgen_cli.engine.efficiency import published


def madds(model, *shape):
    return measure.mult_adds(model, torch.zeros(1, *shape)).total


def test_linear_10_20_has_220_params_and_200_mult_adds():
    layer = nn.Linear(10, 20)
    assert measure.count_params(layer) == 220  # 10*20 weights + 20 biases
    assert madds(layer, 10) == 200  # bias adds are not multiply-accumulates


def test_conv_counts_one_mac_per_weight_per_output_pixel():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert measure.count_params(conv) == 216  # 8*3*3*3
    assert madds(conv, 3, 5, 5) == 216 * 25  # 25 output pixels


def test_depthwise_conv_counts_one_filter_per_channel():
    conv = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
    assert measure.count_params(conv) == 36
    assert madds(conv, 4, 6, 6) == 4 * 9 * 36


def test_batch_norm_pooling_and_activations_are_not_counted():
    model = nn.Sequential(nn.Conv2d(2, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    counted = measure.mult_adds(model, torch.zeros(1, 2, 7, 7))
    assert counted.total == 2 * 4 * 49 + 4 * 3
    assert set(counted.by_operator) == {"conv", "linear"}


def test_uncounted_ops_are_reported():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
    assert "aten::max_pool2d_with_indices" in measure.mult_adds(model, torch.zeros(1, 1, 8, 8)).skipped_ops


def _mobilenet_by_hand(alpha=1.0, side=224, classes=1000):
    """Params and Mult-Adds of MobileNet v1 from its Table 1, layer by layer."""
    from deepgen_cli.engine.models.mobilenet_v1 import BODY, STEM

    cin = int(STEM * alpha)
    side //= 2
    params = 27 * cin + 2 * cin  # 3x3x3 stem conv, BN scale and shift
    macs = side * side * 27 * cin
    for cout, stride in BODY:
        cout = int(cout * alpha)
        side //= stride
        params += 9 * cin + 2 * cin + cin * cout + 2 * cout
        macs += side * side * (9 * cin + cin * cout)
        cin = cout
    return params + cin * classes + classes, macs + cin * classes


def test_mobilenet_v1_matches_paper_table_6():
    model = models.create("mobilenet")
    params, macs = _mobilenet_by_hand()
    assert measure.count_params(model) == params == 4_231_976  # paper: 4.2M
    assert madds(model, 3, 224, 224) == macs
    assert round(macs / 1e6) == 569  # paper: 569M


@pytest.mark.parametrize("alpha,side", [(0.75, 224), (0.5, 224), (0.25, 224), (1.0, 192), (1.0, 160), (1.0, 128), (0.5, 160)])
def test_mobilenet_family_matches_paper_tables_6_to_8(alpha, side):
    model = models.create("mobilenet", width_mult=alpha)
    params, macs = _mobilenet_by_hand(alpha, side)
    assert measure.count_params(model) == params
    assert madds(model, 3, side, side) == macs
    paper_madds = published.MOBILENET_V1[(alpha, side)][1]
    assert abs(macs / 1e6 - paper_madds) / paper_madds < 0.01


def test_conv_mobilenet_matches_paper_table_4():
    model = models.create("mobilenet-conv")
    assert round(measure.count_params(model) / 1e5) == 293  # paper: 29.3M
    total = madds(model, 3, 224, 224)
    assert abs(total / 1e6 - 4866) < 2  # paper: 4866M
    assert 8 <= total / madds(models.create("mobilenet"), 3, 224, 224) <= 9  # "8 to 9 times less"


@pytest.mark.parametrize("name,params,gmacs", [
    ("squeezenet", 1_248_424, 0.819), ("squeezenet1_1", 1_235_496, 0.349), ("alexnet", 61_100_840, 0.714),
    ("mobilenet_v2", 3_504_872, 0.301), ("densenet121", 7_978_856, 2.834),
    ("densenet169", 14_149_480, 3.36), ("densenet201", 20_013_928, 4.291), ("resnet50", 25_557_032, 4.089),
    ("resnet101", 44_549_160, 7.801),
])
def test_torchvision_models_match_their_weight_metadata(name, params, gmacs):
    model = models.create(name)
    assert measure.count_params(model) == params
    assert round(madds(model, 3, 224, 224) / 1e9, 3) == gmacs


def test_densenet_bc_100_k12_has_about_0_8m_params():
    model = models.create("densenet-bc-100-k12")
    assert round(measure.count_params(model) / 1e5) == 8  # paper: 0.8M
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_state_dict_size_is_four_bytes_per_float():
    size = measure.state_dict_mib(models.create("squeezenet"))
    assert 1_248_424 * 4 / 2**20 < size < 1_248_424 * 4 / 2**20 + 0.1  # plus pickle framing


def test_latency_samples_cover_min_time():
    lat = measure.measure_latency(nn.Linear(4, 4), torch.zeros(1, 4), min_time_s=0.01, min_runs=7)
    assert len(lat.samples_ms) >= 7
    assert lat.median_ms > 0 and lat.iqr_ms >= 0
