"""ONNX recurrent layers: RNN, GRU and LSTM (forward, reverse, bidirectional; sequence_lens; peepholes; clip;
named activations with their alpha/beta), unrolled over the (static) sequence length."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from baregrad.onnx.ops.common import input_at
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor

Activation = Callable[[Tensor], Tensor]


def _activation(name: str, alpha: float | None, beta: float | None) -> Activation:
    key = name.lower()
    table: dict[str, Activation] = {
        "sigmoid": Tensor.sigmoid, "tanh": Tensor.tanh, "relu": Tensor.relu,
        "affine": lambda x: x * (1.0 if alpha is None else alpha) + (0.0 if beta is None else beta),
        "leakyrelu": lambda x: (x < 0).where(x * (0.01 if alpha is None else alpha), x),
        "thresholdedrelu": lambda x: (x > (1.0 if alpha is None else alpha)).where(x, 0.0),
        "scaledtanh": lambda x: (x * (1.0 if beta is None else beta)).tanh() * (1.0 if alpha is None else alpha),
        "hardsigmoid": lambda x: (x * (0.2 if alpha is None else alpha) + (0.5 if beta is None else beta)
                                  ).clamp(0.0, 1.0),
        "elu": lambda x: (x < 0).where(((x.exp() - 1) * (1.0 if alpha is None else alpha)), x),
        "softsign": lambda x: x / (x.abs() + 1), "softplus": lambda x: (x.exp() + 1).log(),
    }
    return table[key]


def _activations(attrs: dict[str, Any], defaults: list[str], directions: int) -> list[list[Activation]]:
    names = list(attrs.get("activations", defaults * directions))
    alphas = list(attrs.get("activation_alpha", []))
    betas = list(attrs.get("activation_beta", []))
    fns = [_activation(n, alphas[i] if i < len(alphas) else None, betas[i] if i < len(betas) else None)
           for i, n in enumerate(names)]
    per = len(defaults)
    if len(fns) == per and directions == 2:
        fns = fns * 2
    return [fns[d * per:(d + 1) * per] for d in range(directions)]


class Recurrence:
    """What each cell needs: inputs in (seq, batch, feature) layout, masks for sequence_lens, the options."""

    def __init__(self, ctx: OpContext, inputs: list, attrs: dict[str, Any], gates: int):
        x = inputs[0]
        self.layout = attrs.get("layout", 0)
        if self.layout:
            x = x.transpose(0, 1)
        self.x = x
        self.w, self.r = inputs[1], inputs[2]
        self.b = input_at(inputs, 3)
        self.lens = input_at(inputs, 4)
        self.h0 = input_at(inputs, 5)
        self.directions = self.w.shape[0]
        self.hidden = attrs.get("hidden_size", self.r.shape[-1])
        self.clip = attrs.get("clip")
        self.direction = attrs.get("direction", "forward")
        self.seq, self.batch = x.shape[0], x.shape[1]
        self.gates = gates

    def initial(self, t: Tensor | None, d: int) -> Tensor:
        if t is None:
            return Tensor.zeros(self.batch, self.hidden, dtype=self.x.dtype, device=self.x.device)
        if self.layout:
            t = t.transpose(0, 1)
        return t[d]

    def bias(self, d: int) -> tuple[Tensor, Tensor]:
        n = self.gates * self.hidden
        if self.b is None:
            zero = Tensor.zeros(n, dtype=self.x.dtype, device=self.x.device)
            return zero, zero
        return self.b[d, :n], self.b[d, n:]

    def steps(self, d: int) -> list[int]:
        reverse = self.direction == "reverse" or (self.direction == "bidirectional" and d == 1)
        return list(range(self.seq))[::-1] if reverse else list(range(self.seq))

    def alive(self, t: int) -> Tensor | None:
        if self.lens is None:
            return None
        return (self.lens.reshape(self.batch, 1) > t)

    def clipped(self, v: Tensor) -> Tensor:
        return v.clamp(-self.clip, self.clip) if self.clip is not None else v

    def outputs(self, ys: list[list[Tensor]], finals: list[Tensor], extra: list[Tensor] | None = None) -> tuple:
        y = Tensor.stack([Tensor.stack(per_dir, 0) for per_dir in ys], 1)   # (seq, dirs, batch, hidden)
        y_h = Tensor.stack(finals, 0)
        outs = [y, y_h] + ([Tensor.stack(extra, 0)] if extra is not None else [])
        if self.layout:
            outs[0] = y.permute(2, 0, 1, 3)
            outs[1:] = [o.transpose(0, 1) for o in outs[1:]]
        return tuple(o.cast(self.x.dtype) for o in outs)


def _keep(alive: Tensor | None, new: Tensor, old: Tensor) -> Tensor:
    return new if alive is None else alive.where(new, old)


def _emit(alive: Tensor | None, h: Tensor) -> Tensor:
    return h if alive is None else alive.where(h, 0.0).cast(h.dtype)


@register("RNN")
def rnn(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    rec = Recurrence(ctx, inputs, attrs, 1)
    acts = _activations(attrs, ["Tanh"], rec.directions)
    ys, finals = [], []
    for d in range(rec.directions):
        wb, rb = rec.bias(d)
        h = rec.initial(rec.h0, d)
        out = [None] * rec.seq
        for t in rec.steps(d):
            new = acts[d][0](rec.clipped(rec.x[t] @ rec.w[d].T + h @ rec.r[d].T + wb + rb))
            alive = rec.alive(t)
            h = _keep(alive, new, h)
            out[t] = _emit(alive, new)
        ys.append(out)
        finals.append(h)
    return rec.outputs(ys, finals)


@register("GRU")
def gru(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    rec = Recurrence(ctx, inputs, attrs, 3)
    acts = _activations(attrs, ["Sigmoid", "Tanh"], rec.directions)
    before_reset = attrs.get("linear_before_reset", 0)
    hs = rec.hidden
    ys, finals = [], []
    for d in range(rec.directions):
        wb, rb = rec.bias(d)
        w, r = rec.w[d], rec.r[d]
        h = rec.initial(rec.h0, d)
        out = [None] * rec.seq
        for t in rec.steps(d):
            xw = rec.x[t] @ w.T + wb
            hr = h @ r[:2 * hs].T + rb[:2 * hs]
            f, g = acts[d]
            z = f(rec.clipped(xw[:, :hs] + hr[:, :hs]))
            reset = f(rec.clipped(xw[:, hs:2 * hs] + hr[:, hs:]))
            if before_reset:
                cand = xw[:, 2 * hs:] + reset * (h @ r[2 * hs:].T + rb[2 * hs:])
            else:
                cand = xw[:, 2 * hs:] + (reset * h) @ r[2 * hs:].T + rb[2 * hs:]
            hh = g(rec.clipped(cand))
            new = (1 - z) * hh + z * h
            alive = rec.alive(t)
            h = _keep(alive, new, h)
            out[t] = _emit(alive, new)
        ys.append(out)
        finals.append(h)
    return rec.outputs(ys, finals)


@register("LSTM")
def lstm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    rec = Recurrence(ctx, inputs, attrs, 4)
    c0, peep = input_at(inputs, 6), input_at(inputs, 7)
    acts = _activations(attrs, ["Sigmoid", "Tanh", "Tanh"], rec.directions)
    couple = attrs.get("input_forget", 0)
    hs = rec.hidden
    ys, finals, cells = [], [], []
    for d in range(rec.directions):
        wb, rb = rec.bias(d)
        h, c = rec.initial(rec.h0, d), rec.initial(c0, d)
        p = peep[d] if peep is not None else None
        out = [None] * rec.seq
        f_act, g_act, h_act = acts[d]
        for t in rec.steps(d):
            z = rec.x[t] @ rec.w[d].T + h @ rec.r[d].T + wb + rb
            zi, zo, zf, zc = (z[:, k * hs:(k + 1) * hs] for k in range(4))
            if p is not None:
                zi, zf = zi + p[:hs] * c, zf + p[2 * hs:] * c
            i = f_act(rec.clipped(zi))
            f = (1 - i) if couple else f_act(rec.clipped(zf))
            new_c = f * c + i * g_act(rec.clipped(zc))
            if p is not None:
                zo = zo + p[hs:2 * hs] * new_c
            o = f_act(rec.clipped(zo))
            new_h = o * h_act(new_c)
            alive = rec.alive(t)
            h, c = _keep(alive, new_h, h), _keep(alive, new_c, c)
            out[t] = _emit(alive, new_h)
        ys.append(out)
        finals.append(h)
        cells.append(c)
    return rec.outputs(ys, finals, cells)
