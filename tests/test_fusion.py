"""The fusion contract, by counting kernels: an elementwise chain is 1 kernel, a reduce with its prologue and
epilogue is 1, softmax and a layer-norm row op are 1 each, and a repeated identical step compiles nothing."""
import numpy as np
import pytest

import baregrad as bg


def _kernels(fn, *inputs) -> int:
    """Kernels launched to realize fn(*inputs), inputs realized first."""
    bg.realize_all(list(inputs))
    bg.counters(reset=True)
    fn(*inputs).realize()
    return bg.counters()["kernels"]


def _x(device, *shape, seed=0):
    return bg.Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), device=device)


def test_elementwise_chain_is_one_kernel(device):
    x, y = _x(device, 8, 16), _x(device, 16, seed=1)
    assert _kernels(lambda a, b: ((a + b) * a).exp().relu() - b.sigmoid() / 3, x, y) == 1


def test_dot_reduce_is_one_kernel(device):
    x, y = _x(device, 32), _x(device, 32, seed=1)
    assert _kernels(lambda a, b: (a * b).sum(), x, y) == 1


def test_reduce_with_prologue_and_epilogue_is_one_kernel(device):
    x = _x(device, 8, 16)
    assert _kernels(lambda a: (a.exp() * 2).sum(-1).sqrt() + 1, x) == 1


def test_softmax_last_axis_is_one_kernel(device):
    assert _kernels(lambda a: a.softmax(-1), _x(device, 8, 16)) == 1


def test_layernorm_row_op_is_one_kernel(device):
    x, w = _x(device, 8, 16), _x(device, 16, seed=1)

    def layernorm(a, g):
        mu = a.mean(-1, keepdim=True)
        return (a - mu) / ((a - mu).square().mean(-1, keepdim=True) + 1e-5).sqrt() * g
    assert _kernels(layernorm, x, w) == 1


def test_matmul_of_cheap_elementwise_is_one_kernel(device):
    x, w = _x(device, 16, 8), _x(device, 8, 32, seed=1)
    assert _kernels(lambda a, b: (a * 2 + 1).relu() @ b, x, w) == 1


def test_matmul_does_not_recompute_an_exp_per_output_column(device):
    """exp(x) broadcast over w's 32 columns: fused, the matmul would evaluate it 32 times per element; it gets
    a kernel of its own (and the result still matches)."""
    x, w = _x(device, 16, 8), _x(device, 8, 32, seed=1)
    assert _kernels(lambda a, b: a.exp() @ b, x, w) == 2
    np.testing.assert_allclose((x.exp() @ w).numpy(), np.exp(x.numpy()) @ w.numpy(), rtol=1e-5, atol=1e-5)


def test_repeated_training_step_compiles_nothing_new(device):
    """The second identical step reuses every schedule and kernel."""
    rng = np.random.default_rng(3)
    w = bg.Tensor(rng.standard_normal((6, 3)).astype(np.float32), device=device, requires_grad=True)
    x = bg.Tensor(rng.standard_normal((4, 6)).astype(np.float32), device=device)

    def step():
        loss = (x @ w).tanh().square().mean()
        loss.backward()
        with bg.no_grad():
            w.assign(w - 0.1 * w.grad).realize()
        w.grad = None
        return loss.item()

    first = step()
    bg.counters(reset=True)
    second = step()
    counts = bg.counters()
    assert counts["compiles"] == 0, counts
    assert counts["kernels"] > 0
    assert second < first  # it trained


@pytest.mark.parametrize("n", [1, 3])
def test_kernel_count_stable_across_calls(device, n):
    x = _x(device, 4, 4)
    counts = [_kernels(lambda a: (a * n).sum(0).exp(), x) for _ in range(2)]
    assert counts == [1, 0]  # the same expression on the same buffers is computed once (the node memo)
