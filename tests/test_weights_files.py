"""`--weights` files are data: a pickle that asks to run something is refused before anything in it runs; a
state_dict that does not fit names the first key that does not."""

import os
import pickle

import pytest
import torch
from torch import nn

from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.models.loading import load_weights


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_payload_is_refused_and_never_run(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "w.pt"
    torch.save({"weight": _Payload(marker)}, path)  # torch's own zip format around the pickle
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Payload(marker)))  # and a bare pickle
    for p in (path, raw):
        with pytest.raises(RunError) as err:
            load_weights(nn.Linear(2, 2), str(p))
        assert str(err.value).startswith(f"--weights: '{p}' is not a plain state_dict: it asks to load ")
        assert str(err.value).endswith("refused, nothing in it was run")
        assert p == raw or "posix.system" in str(err.value)  # torch names the callable in its own format
    assert not marker.exists()


def test_a_state_dict_of_the_wrong_shape_names_the_first_mismatched_key(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    state = model.state_dict()
    state["0.bias"], state["2.weight"] = torch.zeros(5), torch.zeros(7, 7)
    path = tmp_path / "w.pt"
    torch.save(state, path)
    with pytest.raises(RunError, match=r"key '0\.bias' has shape \(5,\), the model wants \(3,\)$"):
        load_weights(model, str(path))
    state = model.state_dict()
    state["0.weight"] = [1.0, 2.0]
    torch.save(state, path)
    with pytest.raises(RunError, match="key '0.weight' holds a list, not a tensor"):
        load_weights(model, str(path))
