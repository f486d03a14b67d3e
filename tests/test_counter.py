"""The dispatch counter: recurrent layers by hand, compiled modules, repeated calls and any output structure."""

import dataclasses

import pytest
import torch
from torch import nn

from deepgen_cli.engine import measure


def madds(model, x, batch=1):
    return measure.mult_adds(model, x, batch)


def recurrent_by_hand(gates, inputs, hidden, layers, directions, tokens, proj=0):
    """Per layer and direction, every token meets W_ih (gates*H x I) and W_hh (gates*H x H or P), and LSTM's
    projection W_hr (P x H); a layer above the first reads directions * (P or H) features."""
    total, width = 0, inputs
    out = proj or hidden
    for _ in range(layers):
        total += directions * tokens * (gates * hidden * (width + out) + proj * hidden)
        width = directions * out
    return total


@pytest.mark.parametrize("length", [1, 3, 7])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_lstm_counts_every_gate_weight_once_per_token(length, layers, bidirectional):
    lstm = nn.LSTM(4, 8, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    counted = madds(lstm, torch.zeros(2, length, 4))
    expected = recurrent_by_hand(4, 4, 8, layers, 1 + bidirectional, 2 * length)
    assert counted.total == expected
    assert not counted.uncounted_matrix_ops


def test_lstm_hand_count_written_out():
    # 2 layers, both directions, T=3, B=2: layer 1 2 x 6 x 32 x (4 + 8) = 4608; layer 2 reads 16: 2 x 6 x 32 x 24
    lstm = nn.LSTM(4, 8, num_layers=2, bidirectional=True, batch_first=True)
    assert madds(lstm, torch.zeros(2, 3, 4)).total == 4608 + 9216


def test_lstm_with_projection():
    lstm = nn.LSTM(4, 8, proj_size=3)
    # per token 32 x (4 + 3) gates and 3 x 8 projection, 5 tokens: 5 x (224 + 24)
    assert madds(lstm, torch.zeros(5, 1, 4)).total == 5 * 248 == recurrent_by_hand(4, 4, 8, 1, 1, 5, proj=3)


@pytest.mark.parametrize("layers,bidirectional,length", [(1, False, 5), (2, False, 5), (2, True, 4)])
def test_gru_counts_three_gates(layers, bidirectional, length):
    gru = nn.GRU(4, 8, num_layers=layers, bidirectional=bidirectional)
    assert madds(gru, torch.zeros(length, 1, 4)).total == recurrent_by_hand(3, 4, 8, layers, 1 + bidirectional, length)


def test_gru_hand_count_written_out():
    # one layer, T=5: 5 x 24 x (4 + 8) = 1440
    assert madds(nn.GRU(4, 8), torch.zeros(5, 1, 4)).total == 1440


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_counts_one_gate(nonlinearity):
    # 2 layers, both directions, T=5: layer 1 2 x 5 x 8 x 12 = 960, layer 2 reads 16: 2 x 5 x 8 x 24 = 1920
    rnn = nn.RNN(4, 8, num_layers=2, bidirectional=True, nonlinearity=nonlinearity)
    assert madds(rnn, torch.zeros(5, 1, 4)).total == 960 + 1920 == recurrent_by_hand(1, 4, 8, 2, 2, 5)


class Tagger(nn.Module):
    """Embedding-free sequence tagger: LSTM then a linear head on every token."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def test_recurrent_network_counts_per_module():
    counted = madds(Tagger(), torch.zeros(1, 6, 4))
    assert counted.by_module == {"": 6 * 32 * 12 + 6 * 24, "lstm": 6 * 32 * 12, "head": 6 * 24}
    assert counted.by_operator == {"recurrent": 2304, "linear": 144}
    assert counted.output_shapes["lstm"] == "(1x6x8, (1x1x8, 1x1x8))"


def test_compiled_module_is_counted_through_its_original():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 36, 2))
    compiled = torch.compile(net)
    counted = madds(compiled, torch.zeros(1, 3, 8, 8))
    assert counted.total == 4 * 27 * 36 + 144 * 2  # conv: 27 weights per output, 4x6x6 outputs; linear 288
    assert counted.by_module["0"] == 3888


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))


def test_module_called_twice_counts_per_call():
    counted = madds(Twice(), torch.zeros(1, 4))
    assert counted.total == 2 * 16
    assert counted.by_module["fc"] == 32 and counted.calls["fc"] == 2


@dataclasses.dataclass
class Out:
    logits: torch.Tensor
    features: torch.Tensor


class Structured(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 2)

    def forward(self, x):
        y, z = self.a(x), self.b(x)
        return {"tuple": (y, (z, None)), "dict": {"logits": y, "aux": [z]}, "dataclass": Out(y, z)}[self.kind]


@pytest.mark.parametrize("kind,shape", [("tuple", "(1x3, (1x2, NoneType))"), ("dict", "{logits: 1x3, aux: (1x2)}"),
                                        ("dataclass", "{logits: 1x3, features: 1x2}")])
def test_tuple_dict_and_dataclass_outputs(kind, shape):
    counted = madds(Structured(kind), torch.zeros(1, 4))
    assert counted.total == 12 + 8
    assert counted.output_shapes[""] == shape


def test_activation_bytes_count_fresh_outputs_not_views_or_in_place():
    # conv writes 1x4x6x6 floats (576 B), relu_ in place writes none, flatten is a view, linear writes 2 floats
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(144, 2))
    assert madds(net, torch.zeros(1, 3, 8, 8)).activation_bytes == 576 + 8
    assert madds(net, torch.zeros(5, 3, 8, 8), batch=5).activation_bytes == 5 * (576 + 8)
