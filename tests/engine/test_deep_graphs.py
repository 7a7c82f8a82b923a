"""Deep graphs realize and backpropagate at Python's default recursion limit: no graph walk may recurse.

Each test runs at the default limit (1000) explicitly, so a recursive walk anywhere (scheduling, lowering,
linearizing, rendering, autograd) fails here with RecursionError instead of passing because pytest raised it.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn


@pytest.fixture(autouse=True)
def default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


def test_elementwise_chain_of_10000_ops_forward_and_backward():
    x0 = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    x = bg.tensor(x0, requires_grad=True)
    xt = torch.tensor(x0, requires_grad=True)
    y, yt = x, xt
    for i in range(10_000):  # alternating ops so nothing folds away: y*c + d stays a 2-op step
        c, d = 1.0 + (i % 7) * 1e-4, (i % 5) * 1e-4 - 2e-4
        y, yt = y * c + d, yt * c + d
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_conv_net_of_300_layers_forward_and_backward():
    torch.manual_seed(0)
    layers = []
    for _ in range(300):
        layers += [torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.Tanh()]
    tnet = torch.nn.Sequential(*layers)
    for p in tnet.parameters():
        p.data *= 0.5  # keep activations alive through 300 tanh layers
    bnet = nn.Sequential(*[nn.Conv2d(4, 4, 3, padding=1) if i % 2 == 0 else nn.Tanh() for i in range(600)])
    bnet.load_state_dict({k: bg.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    x0 = np.random.default_rng(1).standard_normal((1, 4, 6, 6)).astype(np.float32)
    x, xt = bg.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    out, outt = bnet(x), tnet(xt)
    out.sum().backward()
    outt.sum().backward()
    np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_rnn_unrolled_1000_steps_forward_and_backward():
    """One input tensor per step (a stream of frames), the hidden state carried through 1000 cells."""
    torch.manual_seed(0)
    tcell = torch.nn.RNNCell(8, 8)
    bcell = nn.RNNCell(8, 8)
    bcell.load_state_dict({k: bg.tensor(v.detach().numpy()) for k, v in tcell.state_dict().items()})
    frames = np.random.default_rng(2).standard_normal((1000, 1, 8)).astype(np.float32) * 0.1
    xs = [bg.tensor(f, requires_grad=True) for f in frames]
    xst = [torch.tensor(f, requires_grad=True) for f in frames]
    h, ht = bg.zeros(1, 8), torch.zeros(1, 8)
    for x, xt in zip(xs, xst):
        h, ht = bcell(x, h), tcell(xt, ht)
    h.sum().backward()
    ht.sum().backward()
    np.testing.assert_allclose(h.numpy(), ht.detach().numpy(), rtol=1e-4, atol=1e-5)
    for t in (0, 1, 500, 998, 999):
        np.testing.assert_allclose(xs[t].grad.numpy(), xst[t].grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(bcell.weight_hh.grad.numpy(), tcell.weight_hh.grad.numpy(), rtol=1e-3, atol=1e-5)
