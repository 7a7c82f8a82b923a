"""The linearizer (baregrad/codegen/linear.py) on kernels whose loop nesting is easy to get wrong, checked by value
against torch on every device."""
import numpy as np
import torch

import baregrad as bg
from tests.helpers import compare


def _heads(x):
    return x.reshape(2, x.shape[1], 2, 4).transpose(1, 2)


def test_reduces_sharing_a_loop_with_different_outer_variables(device):
    """The weight gradient of attention scores whose keys are projected: two reduces over the same variables, one
    of which does not use an outer loop variable the other needs. The shared loop opened before that variable's
    loop and CPU/LLVM refused the kernel ("cannot linearize Op.VAR")."""
    rng = np.random.default_rng(0)
    q, k, w = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 8), (2, 4, 8), (8, 8)))
    ours = bg.Tensor(w, device=device, requires_grad=True)
    theirs = torch.tensor(w, requires_grad=True)
    (_heads(bg.Tensor(q, device=device)) @ _heads(bg.Tensor(k, device=device) @ ours.T).transpose(-2, -1)).sum() \
        .backward()
    (_heads(torch.tensor(q)) @ _heads(torch.tensor(k) @ theirs.T).transpose(-2, -1)).sum().backward()
    compare(ours.grad.numpy(), theirs.grad.numpy(), scale=10)


def test_shared_subexpressions_in_a_reduce_body_are_walked_once(device, monkeypatch):
    """Each level of y = y * 0.5 + y * y * 0.25 uses y three times; hoisting the loop invariants out of the sum's
    body walked every path through that graph (3**depth visits: grid_sample's backward took minutes)."""
    from baregrad.codegen import linear
    calls = [0]
    original = linear._emit_frontier

    def counted(*args):
        calls[0] += 1
        return original(*args)
    monkeypatch.setattr(linear, "_emit_frontier", counted)
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)
    ours, theirs = bg.Tensor(x, device=device), x.astype(np.float64)
    for _ in range(12):
        ours, theirs = ours * 0.5 + ours * ours * 0.25, theirs * 0.5 + theirs * theirs * 0.25
    compare(ours.sum(1).numpy(), theirs.sum(1).astype(np.float32), scale=10)
    assert calls[0] < 2000, f"{calls[0]} frontier visits for a body of about 50 nodes"
