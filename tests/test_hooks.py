"""Tensor.register_hook, retain_grad and retains_grad against torch (the default device: hooks are host-side)."""
import numpy as np
import torch

import baregrad as bg
from tests.helpers import compare, raises_baregrad

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)


def _pair():
    return bg.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)


def _net(x):
    """y = x * 3 (a non-leaf) and a scalar loss of it: the tests below put hooks on y."""
    y = x * 3
    return y, (y.sin() * y).sum()


def test_hook_sees_and_replaces_gradients_of_leaf_and_non_leaf():
    for lib in ("bg", "torch"):
        x, tx = _pair()
        t = x if lib == "bg" else tx
        seen = []
        y, loss = _net(t)
        y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)  # doubles what flows on to x
        t.register_hook(lambda g: seen.append(g.numpy().copy()))
        loss.backward()
        if lib == "bg":
            ours, our_seen = x.grad.numpy(), seen
        else:
            theirs, their_seen = tx.grad.numpy(), seen
    compare(ours, theirs)
    assert len(our_seen) == len(their_seen) == 2
    for a, b in zip(our_seen, their_seen):
        compare(a, b)


def test_hooks_run_in_order_and_remove():
    x = bg.Tensor(X, requires_grad=True)
    calls = []
    first = x.register_hook(lambda g: calls.append("first") or g + 1)
    x.register_hook(lambda g: calls.append("second") or g * 10)
    (x * 2).sum().backward()
    assert calls == ["first", "second"]
    compare(x.grad.numpy(), np.full(X.shape, 30.0, np.float32))  # (2 + 1) * 10
    first.remove()
    x.grad = None
    (x * 2).sum().backward()
    compare(x.grad.numpy(), np.full(X.shape, 20.0, np.float32))
    with x.register_hook(lambda g: g * 0):  # a handle is a context manager that removes its hook
        x.grad = None
        x.sum().backward()
        compare(x.grad.numpy(), np.zeros(X.shape, np.float32))


def test_retain_grad():
    x, tx = _pair()
    y, loss = _net(x)
    ty, tloss = _net(tx)
    assert not y.retains_grad and not x.retains_grad
    y.retain_grad()
    ty.retain_grad()
    x.retain_grad()  # a leaf keeps its grad anyway: a no-op, as in torch
    assert y.retains_grad and not x.retains_grad
    loss.backward()
    tloss.backward()
    compare(y.grad.numpy(), ty.grad.numpy())
    compare(x.grad.numpy(), tx.grad.numpy())
    z = x * 1  # a non-leaf without retain_grad keeps no grad
    z.sum().backward()
    assert z.grad is None


def test_hook_errors():
    x = bg.ones(2, 3)
    raises_baregrad(bg.ArgumentError, ValueError, r"\(2, 3\).*does not require grad", lambda: x.register_hook(print))
    raises_baregrad(bg.ArgumentError, ValueError, r"\(2, 3\)", lambda: x.retain_grad())
    y = bg.ones(2, 3, requires_grad=True)
    y.register_hook(lambda g: g.sum())
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\) to \(\)", lambda: (y * 2).sum().backward())
