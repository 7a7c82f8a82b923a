"""Autograd semantics against torch, on every device: backward(), accumulation over two backward calls,
no_grad, detach, requires_grad_, shared subgraphs, and gradients through a composite of many ops."""
import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare, rand


def _leaf(x, device):
    return bg.Tensor(x, device=device, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()


def test_backward_scalar_and_explicit_gradient(device):
    x = rand((2, 3))
    b, t = _leaf(x, device)
    (b * b).sum().backward()
    (t * t).sum().backward()
    compare(b.grad.numpy(), t.grad.numpy())
    b, t = _leaf(x, device)
    g = rand((2, 3), seed=9)
    (b.exp() * 2).backward(bg.Tensor(g, device=device))
    (t.exp() * 2).backward(torch.from_numpy(g))
    compare(b.grad.numpy(), t.grad.numpy())


def test_grad_accumulates_over_two_backward_calls(device):
    x = rand((3,))
    b, t = _leaf(x, device)
    for fn in (lambda v: (v * v).sum(), lambda v: v.sin().sum()):
        fn(b).backward()
        fn(t).backward()
    compare(b.grad.numpy(), t.grad.numpy())
    b.grad = None
    (b * 3).sum().backward()
    assert b.grad.tolist() == [3.0, 3.0, 3.0]


def test_same_input_twice_and_shared_subgraph(device):
    """x + x, and a subexpression used by two branches: contributions add up; grads never alias."""
    x = rand((2, 2))
    check(lambda v: v + v, lambda v: v + v, [x], device)
    check(lambda v: (lambda s: s * s + s.exp())(v.tanh()), lambda v: (lambda s: s * s + s.exp())(v.tanh()), [x],
          device)
    a, b = (bg.Tensor(rand((2,), seed=i), device=device, requires_grad=True) for i in (1, 2))
    (a + b).sum().backward()
    a.grad += 1
    assert b.grad.tolist() == [1.0, 1.0] and a.grad.tolist() == [2.0, 2.0]


def test_no_grad(device):
    x = bg.Tensor(rand((2,)), device=device, requires_grad=True)
    with bg.no_grad():
        y = x * 2
    assert not y.requires_grad
    with pytest.raises(bg.Error):
        y.sum().backward()

    @bg.no_grad()
    def f(v):
        return v * 3
    assert not f(x).requires_grad
    assert (x * 2).requires_grad
    with bg.set_grad_enabled(False):
        assert not (x + 1).requires_grad


def test_detach(device):
    x = rand((3,))
    b, t = _leaf(x, device)
    (b * b.detach()).sum().backward()
    (t * t.detach()).sum().backward()
    compare(b.grad.numpy(), t.grad.numpy())
    assert not b.detach().requires_grad and b.detach().is_leaf


def test_requires_grad_(device):
    b = bg.Tensor(rand((3,)), device=device)
    assert b.requires_grad_() is b and b.requires_grad
    (b * 4).sum().backward()
    assert b.grad.tolist() == [4.0] * 3
    b.requires_grad_(False)
    assert not (b * 4).requires_grad
    with pytest.raises(bg.DTypeError):
        bg.tensor([1, 2], device=device).requires_grad_()


def test_non_leaf_has_no_grad_and_leaf_only_gets_one(device):
    b = bg.Tensor(rand((2,)), device=device, requires_grad=True)
    mid = b * 2
    (mid * mid).sum().backward()
    assert mid.grad is None and b.grad is not None


def test_gradient_through_integer_cast_is_cut(device):
    x = rand((4,), 0, 5)
    check(lambda v: v * v.int().float(), lambda v: v * v.int().float(), [x], device)


def test_composite_gradient(device):
    """A small network step: many ops in one graph, gradients for every input."""
    rng = np.random.default_rng(4)
    x, w1, w2 = (rng.standard_normal(s).astype(np.float32) * 0.5 for s in ((4, 6), (6, 5), (5, 3)))
    y = np.array([0, 2, 1, 2])

    def fn(a, b, c):
        h = (a @ b).gelu() if isinstance(a, bg.Tensor) else torch.nn.functional.gelu(a @ b)
        h = (h - h.mean(-1, keepdim=True)) / (h.var(-1, keepdim=True, correction=0) + 1e-5).sqrt()
        logits = (h @ c).clamp(-3, 3)
        picked = logits.log_softmax(-1)[list(range(4)), list(y)]
        return -picked.mean() + (b * b).sum() * 1e-2 + c.abs().max()
    check(fn, fn, [x, w1, w2], device, scale=20)
