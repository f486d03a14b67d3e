"""The probe claims' negative controls, each run as `deepgen reproduce --controls` runs it (its overrides over the
command's defaults): the claims it controls come out no or cannot tell, never yes, each for the stated reason."""

import pytest
import torch

from deepgen_cli.engine.probe import ProbeConfig, run
from deepgen_cli.engine.probe.controls import CONTROLS
from tests.sessions import Recorder

pytestmark = pytest.mark.usefixtures("one_thread")


def controlled(control):
    outcome = run(ProbeConfig(**control.overrides), torch.device("cpu"), Recorder())
    return [f for f in outcome.findings if f.claim.startswith(control.claims)]


def test_every_control_names_claims_the_command_makes():
    assert [c.label.split(" (")[0] for c in CONTROLS] == ["a network that does not learn",
                                                          "a hidden layer that is a linear map of the input"]
    assert all(c.why and set(c.overrides) <= set(ProbeConfig.__dataclass_fields__) for c in CONTROLS)


def test_a_linear_map_of_the_input_is_not_more_separable_than_the_input():
    (f,) = controlled(CONTROLS[1])
    # the convolution before its ReLU: an affine map, so its converged fit is the input's on every example
    assert f.reproduced is False and "b = 0, c = 0, p = 1" in f.measured and "3 seeds pooled" in f.measured


@pytest.mark.slow
def test_a_network_that_does_not_learn_gets_no_verdict_on_what_training_does():
    found = controlled(CONTROLS[0])
    assert len(found) == 3 and all(f.reproduced is None for f in found)
    # one epoch at lr 1e-6: the network stays near chance (10 classes), far below the 55% floor
    assert all("the network did not train: test accuracy below the 55% floor" in f.reason for f in found)
