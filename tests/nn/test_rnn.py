"""torch.nn parity for the recurrent layers (RNN tanh/relu, LSTM, GRU and their cells): torch's weights loaded
through a numpy state_dict, then the outputs and final states, and the gradients of the input, of h0/c0 and of
every parameter compared, on every device. Also the parameter names, the init bounds and the bad-input errors."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad import nn
from baregrad.nn.modules.rnn import RNNBase
from tests.helpers import compare, raises_baregrad

RNG = np.random.default_rng(23)
SEQ, BATCH, IN, HID = 3, 2, 4, 3


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def flat(result: Any) -> list:
    """The tensors of (out, h_n), (out, (h_n, c_n)), h or (h, c), in order."""
    return [t for r in result for t in flat(r)] if isinstance(result, tuple) else [result]


def run_pair(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray, hx: Any, device: str) -> None:
    """Load torch's weights into ours by name, run both on x (and hx: None, an array or a tuple of arrays), and
    compare every output, then the gradients of x, of hx and of every parameter for one random output weighting."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    states = [] if hx is None else list(hx) if isinstance(hx, tuple) else [hx]
    tx, tstates = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True) for s in states]
    bx, bstates = (bg.Tensor(x, device=device, requires_grad=True),
                   [bg.Tensor(s, device=device, requires_grad=True) for s in states])

    def call(module, x, states):
        return module(x) if hx is None else module(x, tuple(states) if isinstance(hx, tuple) else states[0])

    expected, actual = flat(call(theirs, tx, tstates)), flat(call(ours, bx, bstates))
    assert len(actual) == len(expected)
    loss_t, loss_b = 0, 0
    for i, (a, e) in enumerate(zip(actual, expected)):
        compare(a.numpy(), e.detach().numpy(), scale=10, what=f"output {i}")
        w = RNG.standard_normal(e.shape).astype(np.float32)
        loss_t, loss_b = loss_t + (e * torch.tensor(w)).sum(), loss_b + (a * bg.Tensor(w, device=device)).sum()
    loss_t.backward()
    loss_b.backward()
    compare(bx.grad.numpy(), tx.grad.numpy(), scale=100, what="input grad")
    for i, (b, t) in enumerate(zip(bstates, tstates)):
        compare(b.grad.numpy(), t.grad.numpy(), scale=100, what=f"grad of hx[{i}]")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        compare(p.grad.numpy(), theirs_params[name].grad.numpy(), scale=100, what=f"grad of {name}")


def make(name: str, *args: Any, **kw: Any) -> tuple[nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    return getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


def random_state(name: str, rows: int, batch: int | None, hidden: int = HID, proj: int = 0) -> Any:
    """A random h0 (or (h0, c0) for LSTM) of torch's shape; batch None for unbatched input."""
    lead = (rows,) if batch is None else (rows, batch)
    h0 = randn(*lead, proj or hidden)
    return (h0, randn(*lead, hidden)) if name == "LSTM" else h0


LAYER_CASES = [  # (layer, constructor kwargs, input shape, with h0): each case covers several options at once
    ("RNN", {"num_layers": 2, "bidirectional": True}, (SEQ, BATCH, IN), True),
    ("RNN", {"nonlinearity": "relu", "batch_first": True}, (BATCH, SEQ, IN), False),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}, (BATCH, SEQ, IN), True),
    ("LSTM", {"bias": False}, (SEQ, IN), False),
    ("GRU", {"num_layers": 2, "batch_first": True}, (BATCH, SEQ, IN), True),
    ("GRU", {"bidirectional": True}, (SEQ, IN), False),
]


def case_id(name: str, kw: dict, shape: tuple, with_h0: bool) -> str:
    return "-".join([name, *(f"{k}={v}" for k, v in kw.items()), f"{len(shape)}d", "h0" if with_h0 else "no_h0"])


@pytest.mark.parametrize("name,kw,shape,with_h0", LAYER_CASES, ids=[case_id(*c) for c in LAYER_CASES])
def test_layer_matches_torch(device, name, kw, shape, with_h0):
    ours, theirs = make(name, IN, HID, **kw)
    rows = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    batch = None if len(shape) == 2 else BATCH
    run_pair(ours, theirs, randn(*shape), random_state(name, rows, batch) if with_h0 else None, device)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_lstm_proj_size_and_dropout_in_eval_match_torch(device):
    """proj_size: h_0, h_n and the outputs have proj_size features (weight_hr_l*), c_0 and c_n hidden_size; dropout
    between layers is off in eval."""
    ours, theirs = make("LSTM", IN, HID, num_layers=2, proj_size=2, dropout=0.5)
    ours.eval(), theirs.eval()
    run_pair(ours, theirs, randn(SEQ, BATCH, IN), random_state("LSTM", 2, BATCH, proj=2), device)


def test_dropout_one_in_training_drops_the_first_layer_output(device):
    """With dropout=1 in training the second layer sees zeros: deterministic, and equal to torch's training run."""
    ours, theirs = make("GRU", IN, HID, num_layers=2, dropout=1.0)
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    x = randn(SEQ, BATCH, IN)
    out, h_n = ours(bg.Tensor(x, device=device))
    t_out, t_h = theirs(torch.tensor(x))
    compare(out.numpy(), t_out.detach().numpy(), scale=10, what="output")
    compare(h_n.numpy(), t_h.detach().numpy(), scale=10, what="h_n")
    ours.eval()
    assert not np.allclose(ours(bg.Tensor(x, device=device))[0].numpy(), out.numpy()), "dropout had no effect"


CELL_CASES = [  # (cell, constructor kwargs, batched, with hx)
    ("RNNCell", {}, True, True), ("RNNCell", {"nonlinearity": "relu"}, False, False),
    ("LSTMCell", {"bias": False}, True, False), ("LSTMCell", {}, False, True), ("GRUCell", {}, True, True),
]


@pytest.mark.parametrize("name,kw,batched,with_hx", CELL_CASES)
def test_cell_matches_torch(device, name, kw, batched, with_hx):
    ours, theirs = make(name, IN, HID, **kw)
    lead = (BATCH,) if batched else ()
    hx = None
    if with_hx:
        hx = (randn(*lead, HID), randn(*lead, HID)) if name == "LSTMCell" else randn(*lead, HID)
    run_pair(ours, theirs, randn(*lead, IN), hx, device)


@pytest.mark.parametrize("name,kw", [("RNN", {"num_layers": 2, "bidirectional": True}),
                                     ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
                                     ("GRU", {"num_layers": 3, "bias": False}), ("RNNCell", {}), ("LSTMCell", {}),
                                     ("GRUCell", {"bias": False})])
def test_state_dict_names_shapes_and_init_match_torch(name, kw):
    ours, theirs = make(name, IN, 5, **kw)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key, value in ours_sd.items():
        assert value.shape == tuple(theirs_sd[key].shape), key
    # every parameter U(-1/sqrt(hidden), 1/sqrt(hidden)): within the bound, and spread over it (std bound/sqrt(3))
    bound, values = 1 / np.sqrt(5), np.concatenate([v.numpy().ravel() for v in ours_sd.values()])
    assert np.abs(values).max() <= bound and 0.4 * bound < values.std() < 0.75 * bound, (bound, values.std())


def _x(*shape):
    return bg.Tensor(randn(*shape))


ERROR_CASES = [  # (what, call, message pattern)
    ("3-D input with 4 features", lambda: nn.RNN(IN, HID)(_x(SEQ, BATCH, IN + 1)), r"Expected 4, got 5.*\(3, 2, 5\)"),
    ("1-D input", lambda: nn.GRU(IN, HID)(_x(IN)), r"2D or 3D, got 1D.*\(4,\)"),
    ("4-D input", lambda: nn.LSTM(IN, HID)(_x(1, SEQ, BATCH, IN)), r"2D or 3D, got 4D"),
    ("h0 rows", lambda: nn.RNN(IN, HID, num_layers=2)(_x(SEQ, BATCH, IN), _x(1, BATCH, HID)),
     r"expected h_0 of shape \(2, 2, 3\), got \(1, 2, 3\)"),
    ("h0 batch with batch_first", lambda: nn.GRU(IN, HID, batch_first=True)(_x(BATCH, SEQ, IN), _x(1, SEQ, HID)),
     r"expected h_0 of shape \(1, 2, 3\), got \(1, 3, 3\)"),
    ("3-D h0 for unbatched input", lambda: nn.RNN(IN, HID)(_x(SEQ, IN), _x(1, 1, HID)),
     r"unbatched.*expected h_0 of shape \(1, 3\), got \(1, 1, 3\)"),
    ("c0 size", lambda: nn.LSTM(IN, HID)(_x(SEQ, BATCH, IN), (_x(1, BATCH, HID), _x(1, BATCH, HID + 1))),
     r"expected c_0 of shape \(1, 2, 3\), got \(1, 2, 4\)"),
    ("h0 size with proj_size", lambda: nn.LSTM(IN, HID, proj_size=2)(_x(SEQ, BATCH, IN),
                                                                      (_x(1, BATCH, HID), _x(1, BATCH, HID))),
     r"expected h_0 of shape \(1, 2, 2\), got \(1, 2, 3\)"),
    ("LSTM hx not a pair", lambda: nn.LSTM(IN, HID)(_x(SEQ, BATCH, IN), _x(1, BATCH, HID)), r"tuple \(h_0, c_0\)"),
    ("empty sequence", lambda: nn.RNN(IN, HID)(_x(0, BATCH, IN)), r"sequence length.*\(0, 2, 4\)"),
    ("cell input size", lambda: nn.GRUCell(IN, HID)(_x(BATCH, IN + 1)), r"got 5, expected 4.*\(2, 5\)"),
    ("cell hx batch", lambda: nn.RNNCell(IN, HID)(_x(BATCH, IN), _x(BATCH + 1, HID)),
     r"expected hx of shape \(2, 3\), got \(3, 3\)"),
    ("cell c size", lambda: nn.LSTMCell(IN, HID)(_x(BATCH, IN), (_x(BATCH, HID), _x(BATCH, HID + 1))),
     r"expected c of shape \(2, 3\), got \(2, 4\)"),
    ("cell 3-D input", lambda: nn.LSTMCell(IN, HID)(_x(1, BATCH, IN)), r"1D or 2D, got 3D"),
    ("nonlinearity", lambda: nn.RNN(IN, HID, nonlinearity="gelu"), r"Unknown nonlinearity 'gelu'"),
    ("cell nonlinearity", lambda: nn.RNNCell(IN, HID, nonlinearity="sigmoid"), r"Unknown nonlinearity 'sigmoid'"),
    ("proj_size on GRU", lambda: RNNBase("GRU", IN, HID, proj_size=2), r"only supported for LSTM"),
    ("proj_size too big", lambda: nn.LSTM(IN, HID, proj_size=HID), r"proj_size has to be smaller"),
    ("dropout", lambda: nn.LSTM(IN, HID, num_layers=2, dropout=1.5), r"dropout should be a number in range"),
    ("hidden_size", lambda: nn.GRU(IN, 0), r"hidden_size must be an integer greater than zero"),
    ("num_layers", lambda: nn.RNN(IN, HID, num_layers=0), r"num_layers must be an integer greater than zero"),
]


@pytest.mark.parametrize("what,call,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_raises_argument_error(what, call, match):
    raises_baregrad(bg.ArgumentError, ValueError, match, call)


def test_dtype_mismatch_and_dropout_warning():
    raises_baregrad(bg.DTypeError, TypeError, r"input dtype \(float64\) does not match weight dtype \(float32\)",
                    lambda: nn.RNN(IN, HID)(bg.Tensor(randn(SEQ, BATCH, IN).astype(np.float64))))
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(IN, HID, dropout=0.2)
