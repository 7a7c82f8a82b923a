"""Recurrent layers: RNN (tanh or relu), LSTM (with optional proj_size) and GRU over whole sequences, and the
one-step cells RNNCell, LSTMCell and GRUCell.

They follow torch.nn: the same constructor arguments, parameter names and shapes (weight_ih_l0, weight_hh_l0,
bias_ih_l0, bias_hh_l0, weight_hr_l0 for a projected LSTM, `_reverse` for the backward direction), gate order
(LSTM i, f, g, o; GRU r, z, n), initialization U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), input layouts
((L, N, H_in), batch_first (N, L, H_in), unbatched (L, H_in)) and return values, so a torch state_dict loads by
name and gives the same outputs.

A layer projects the input of every timestep with one matmul (x @ W_ih.T + b_ih), then loops over time for the
hidden recurrence only: one small matmul and the gate arithmetic per step. Each step's state is computed as the loop
runs (and its gradient likewise in the backward pass), so every timestep is the same few small kernels, scheduled
once and then reused, instead of one graph that grows with the sequence.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from baregrad.errors import ArgumentError, DTypeError
from baregrad.nn import functional as F
from baregrad.nn import init
from baregrad.nn.materialize import materialize
from baregrad.nn.module import Module, Parameter
from baregrad.tensor import Tensor

# the recurrent state of one direction of one layer: (h,) for RNN and GRU, (h, c) for LSTM
State = tuple[Tensor, ...]
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
STATE_TENSORS = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 2, "GRU": 1}  # (h,) or (h, c)


class Weights(NamedTuple):
    """The parameters of one direction of one layer (or of a cell); w_hr only for a projected LSTM."""
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    w_hr: Tensor | None = None


# ---- one timestep: gi and gh are the input's and the hidden state's shares of the gates (x W_ih^T + b_ih and
# h W_hh^T + b_hh); each step function returns the new state ----
Step = Callable[[Tensor, Tensor, State, Weights], State]


def _rnn_step(activation: Callable[[Tensor], Tensor]) -> Step:
    def step(gi: Tensor, gh: Tensor, state: State, w: Weights) -> State:
        return (activation(gi + gh),)
    return step


def _lstm_step(gi: Tensor, gh: Tensor, state: State, w: Weights) -> State:
    i, f, g, o = (gi + gh).chunk(4, -1)
    c = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w.w_hr is None else F.linear(h, w.w_hr), c)


def _gru_step(gi: Tensor, gh: Tensor, state: State, w: Weights) -> State:
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()  # r scales W_hn h + b_hn, as in torch
    return ((1 - z) * n + z * state[0],)


STEPS: dict[str, Step] = {"RNN_TANH": _rnn_step(Tensor.tanh), "RNN_RELU": _rnn_step(Tensor.relu),
                          "LSTM": _lstm_step, "GRU": _gru_step}


def _step(mode: str, gi: Tensor, state: State, w: Weights) -> State:
    """One timestep of `mode` from the input's share of the gates gi (N, gates * hidden) and the state."""
    (gh,) = materialize(F.linear(state[0], w.w_hh, w.b_hh))
    return materialize(*STEPS[mode](gi, gh, state, w))


def _run_direction(mode: str, x: Tensor, state: State, w: Weights, reverse: bool) -> tuple[Tensor, State]:
    """Run one direction of one layer over time-major x (L, N, H_in): the outputs (L, N, H_out), in time order
    for either direction, and the final state."""
    # one matmul for every timestep, then each step's slice in a buffer of its own (the step kernels and their
    # gradients then do not depend on t, and their cached schedules serve every step)
    (gates_in,) = materialize(F.linear(x, w.w_ih, w.b_ih))
    gates_in = materialize(*gates_in.unbind(0))
    outputs: list[Tensor] = [None] * len(gates_in)  # type: ignore[list-item]
    for t in (reversed(range(len(gates_in))) if reverse else range(len(gates_in))):
        state = _step(mode, gates_in[t], state, w)
        (outputs[t],) = materialize(state[0])
    return Tensor.stack(outputs, 0), state


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{name} must be an integer greater than zero, got {value!r}")


def _check_dtype(x: Tensor, weight: Tensor, layer: str) -> None:
    if x.dtype != weight.dtype:
        raise DTypeError(f"{layer} input dtype ({x.dtype.name}) does not match weight dtype ({weight.dtype.name})")


# ---- whole-sequence layers ----
class RNNBase(Module):
    """The layers over sequences; `mode` picks the step: RNN_TANH, RNN_RELU, LSTM or GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        _check_layer_args(mode, input_size, hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self._weight_names: list[dict[str, str]] = []  # per (layer, direction): weight_ih -> weight_ih_l0 ...
        for layer in range(num_layers):
            for direction in range(self.num_directions):
                self._weight_names.append(self._add_weights(layer, direction, device, dtype))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """The size of h: proj_size when an LSTM projects, else hidden_size."""
        return self.proj_size or self.hidden_size

    def _add_weights(self, layer: int, direction: int, device: Any, dtype: Any) -> dict[str, str]:
        """Register one direction's parameters under torch's names, in torch's order."""
        gates = GATES[self.mode] * self.hidden_size
        layer_in = self.input_size if layer == 0 else self.output_size * self.num_directions
        shapes = {"weight_ih": (gates, layer_in), "weight_hh": (gates, self.output_size)}
        if self.bias:
            shapes.update(bias_ih=(gates,), bias_hh=(gates,))
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        for name, shape in shapes.items():
            setattr(self, name + suffix, Parameter(Tensor.empty(*shape, device=device, dtype=dtype)))
        return {name: name + suffix for name in shapes}

    def _weights(self, index: int) -> Weights:
        named = {kind: getattr(self, name) for kind, name in self._weight_names[index].items()}
        return Weights(named["weight_ih"], named["weight_hh"], named.get("bias_ih"), named.get("bias_hh"),
                       named.get("weight_hr"))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _prepare(self, x: Tensor, hx: Tensor | tuple[Tensor, ...] | None) -> tuple[Tensor, State, bool]:
        """Checks the input and state; returns x time-major (L, N, H_in), the state as (D * layers, N, size) tensors
        (zeros when hx is None), and whether the input was unbatched."""
        name = type(self).__name__
        if x.ndim not in (2, 3):
            raise ArgumentError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D tensor of shape {x.shape}")
        _check_dtype(x, self.weight_ih_l0, name)
        if x.shape[-1] != self.input_size:
            raise ArgumentError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                                f"got {x.shape[-1]} (input of shape {x.shape})")
        unbatched = x.ndim == 2
        time_major = x.unsqueeze(1) if unbatched else x.transpose(0, 1) if self.batch_first else x
        if time_major.shape[0] == 0:
            raise ArgumentError(f"{name}: Expected sequence length to be larger than 0, got input of shape {x.shape}")
        return time_major, self._initial_state(hx, x, time_major.shape[1]), unbatched

    def _initial_state(self, hx: Tensor | tuple[Tensor, ...] | None, x: Tensor, batch: int) -> State:
        """hx checked against the shapes torch expects for input x, as (D * layers, batch, size) tensors; zeros when
        hx is None."""
        name, lstm, unbatched = type(self).__name__, self.mode == "LSTM", x.ndim == 2
        sizes = (self.output_size, self.hidden_size) if lstm else (self.output_size,)
        rows = self.num_layers * self.num_directions
        if hx is None:
            return tuple(Tensor.zeros(rows, batch, size, dtype=x.dtype, device=x.device) for size in sizes)
        state = tuple(hx) if lstm and isinstance(hx, (tuple, list)) else (hx,)
        if len(state) != len(sizes) or not all(isinstance(s, Tensor) for s in state):
            raise ArgumentError(f"{name}: hx must be {'a tuple (h_0, c_0) of Tensors' if lstm else 'a Tensor'}, "
                                f"got {type(hx).__name__}")
        for k, (s, size) in enumerate(zip(state, sizes)):
            expected = (rows, size) if unbatched else (rows, batch, size)
            if s.shape != expected:
                what = ("h_0", "c_0")[k] if lstm else "h_0"
                raise ArgumentError(f"{name}: for {'unbatched 2-D' if unbatched else 'batched 3-D'} input of shape "
                                    f"{x.shape}, expected {what} of shape {expected}, got {s.shape}")
        return tuple(s.unsqueeze(1) if unbatched else s for s in state)

    def _run(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Every layer and direction over time-major x; the last layer's output and the stacked final states."""
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout:
                x = F.dropout(x, self.dropout, True)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                out, final = _run_direction(self.mode, x, tuple(s[index] for s in state), self._weights(index),
                                            reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
            x = Tensor.cat(outputs, -1) if len(outputs) > 1 else outputs[0]
        return x, tuple(Tensor.stack([f[k] for f in finals], 0) for k in range(len(state)))

    def _sequence_forward(self, x: Tensor, hx: Any) -> tuple[Tensor, State]:
        x, state, unbatched = self._prepare(x, hx)
        out, final = self._run(x, state)
        if unbatched:
            return out.squeeze(1), tuple(s.squeeze(1) for s in final)
        return (out.transpose(0, 1) if self.batch_first else out), final

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = {"proj_size": 0, "num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                    "bidirectional": False}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


def _check_layer_args(mode: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                      proj_size: int) -> None:
    if mode not in GATES:
        raise ArgumentError(f"unknown RNN mode {mode!r}, expected one of {sorted(GATES)}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        _check_positive_int(name, value)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ArgumentError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if proj_size and mode != "LSTM":
        raise ArgumentError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ArgumentError(f"proj_size should be a positive integer or zero to disable projections, "
                            f"got {proj_size!r}")
    if proj_size >= hidden_size:
        raise ArgumentError(f"proj_size has to be smaller than hidden_size, got {proj_size} >= {hidden_size}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout adds dropout after all but the last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)


def _nonlinearity_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


class RNN(RNNBase):
    """Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), nonlinearity 'tanh' or 'relu'."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None):
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(output, h_n): output (L, N, D * hidden_size) (batch_first: (N, L, ...)), h_n (D * num_layers, N, ...)."""
        out, (h_n,) = self._sequence_forward(input, hx)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory; with proj_size > 0, h is projected by weight_hr to proj_size features."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """(output, (h_n, c_n)); hx is (h_0, c_0) or None for zeros."""
        out, (h_n, c_n) = self._sequence_forward(input, hx)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, (h_n,) = self._sequence_forward(input, hx)
        return out, h_n


# ---- one-step cells ----
class RNNCellBase(Module):
    """A single timestep: weight_ih (gates * hidden, input), weight_hh (gates * hidden, hidden), bias_ih, bias_hh."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        _check_positive_int("input_size", input_size)
        _check_positive_int("hidden_size", hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gates = GATES[mode] * hidden_size
        self.weight_ih = Parameter(Tensor.empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(Tensor.empty(gates, hidden_size, device=device, dtype=dtype))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, Parameter(Tensor.empty(gates, device=device, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _cell_forward(self, x: Tensor, hx: tuple[Tensor | None, ...]) -> State:
        """One step from x (N, H_in) or unbatched (H_in) and the state tensors in hx (None for zeros)."""
        name = type(self).__name__
        if x.ndim not in (1, 2):
            raise ArgumentError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D tensor of shape {x.shape}")
        _check_dtype(x, self.weight_ih, name)
        if x.shape[-1] != self.input_size:
            raise ArgumentError(f"{name}: input has inconsistent input_size: got {x.shape[-1]}, expected "
                                f"{self.input_size} (input of shape {x.shape})")
        state = self._cell_state(hx, x)
        unbatched = x.ndim == 1
        x = x.unsqueeze(0) if unbatched else x
        weights = Weights(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        out = _step(self.mode, F.linear(x, weights.w_ih, weights.b_ih), state, weights)
        return tuple(s.squeeze(0) for s in out) if unbatched else out

    def _cell_state(self, hx: tuple[Tensor | None, ...], x: Tensor) -> State:
        """hx checked against (N, hidden) (unbatched x: (hidden)) and made 2-D; zeros for None."""
        name, unbatched = type(self).__name__, x.ndim == 1
        if len(hx) != STATE_TENSORS[self.mode] or not all(h is None or isinstance(h, Tensor) for h in hx):
            raise ArgumentError(f"{name}: hx must be {'a tuple (h, c) of Tensors' if len(hx) > 1 else 'a Tensor'}")
        expected = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
        state = []
        for k, h in enumerate(hx):
            if h is None:
                h = Tensor.zeros(*expected, dtype=x.dtype, device=x.device)
            elif h.shape != expected:
                what = ("h", "c")[k] if len(hx) > 1 else "hx"
                raise ArgumentError(f"{name}: for input of shape {x.shape}, expected {what} of shape {expected}, "
                                    f"got {h.shape}")
            state.append(h.unsqueeze(0) if unbatched else h)
        return tuple(state)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None):
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell_forward(input, (hx,))[0]


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """(h', c'); hx is (h, c) or None for zeros."""
        state = (None, None) if hx is None else tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
        h, c = self._cell_forward(input, state)
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell_forward(input, (hx,))[0]


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]
