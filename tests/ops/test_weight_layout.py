"""x @ W.T reads a row-major copy of W.T made once per weight version: reused while W is unchanged, redone after an
optimizer writes W, and differentiable as the copy made on the spot (checked against torch through SGD steps)."""
from __future__ import annotations

import numpy as np
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.optim as optim


def test_linear_reuses_the_weight_copy_until_the_weight_is_written():
    torch.manual_seed(0)
    tl, bl = torch.nn.Linear(256, 128), nn.Linear(256, 128)
    bl.load_state_dict({k: bg.tensor(v.detach().numpy(), device="CPU") for k, v in tl.state_dict().items()})
    bl.to("CPU")
    topt, bopt = torch.optim.SGD(tl.parameters(), lr=0.01), optim.SGD(bl.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(3):  # training: the copy must follow each step's new weights, and pass gradients to W
        x = rng.standard_normal((4, 256)).astype(np.float32)
        yt, yb = tl(torch.tensor(x)), bl(bg.tensor(x, device="CPU"))
        yt.square().sum().backward()
        yb.square().sum().backward()
        np.testing.assert_allclose(yb.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(bl.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
        topt.step(), bopt.step(), topt.zero_grad(), bopt.zero_grad()
    x = rng.standard_normal((4, 256)).astype(np.float32)
    with bg.no_grad():
        bl(bg.tensor(x, device="CPU")).realize()
        before = bg.counters()["kernels"]
        out = bl(bg.tensor(x + 1, device="CPU")).numpy()
        launched = bg.counters()["kernels"] - before
    assert launched == 1, f"an unchanged weight's copy is reused: one kernel, not {launched}"
    with torch.no_grad():
        np.testing.assert_allclose(out, tl(torch.tensor(x + 1)).numpy(), rtol=1e-4, atol=1e-4)
