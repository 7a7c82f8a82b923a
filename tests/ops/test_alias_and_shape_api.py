"""torch's other names (greater, divide, swapdims, ...), Tensor metadata and new_*, the shape helpers of
tensor_ops/aliases.py (rot90, tensor_split, hsplit, take, masked_select, unfold, sum_to_size, kron, ...) and the
free functions of baregrad/tensor_ops/free_functions.py (hstack, block_diag, tensordot, cdist, vander, trapezoid,
...), all
against torch, forward and backward, on every device.

Shapes are small, and `check_ops` covers many ops with one joined output, so each device compiles few kernels
(a cold compile cache is most of this file's time)."""
import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare, raises_baregrad, rand, skip_unsupported, to_torch

A = rand((3, 4), seed=1)
B = rand((3, 4), 0.5, 2.0, seed=2)  # positive: a safe divisor
C = rand((2, 3, 4), seed=3)


def _joined(fn, lib):
    """fn's list of outputs as one 1-d tensor, so that one check compares them all, gradients included."""
    return lambda *ts: lib.cat([p.reshape(-1) for p in fn(lib, *ts)])


def check_ops(fn, inputs: list, device: str, grad: bool = True, scale: float = 1.0) -> None:
    """fn(lib, *tensors) -> list of tensors, run with lib = baregrad and lib = torch: the outputs' count, shapes
    and dtypes must agree, then their values and the inputs' gradients (through the joined outputs)."""
    skip_unsupported(device, *[np.asarray(x).dtype.name for x in inputs])
    ours = fn(bg, *[bg.Tensor(x, device=device) for x in inputs])
    theirs = fn(torch, *[to_torch(x) for x in inputs])
    assert [(tuple(p.shape), p.dtype.name) for p in ours] == [(tuple(t.shape), str(t.dtype)[6:]) for t in theirs]
    check(_joined(fn, bg), _joined(fn, torch), inputs, device, grad=grad, scale=scale)


# ---- aliases ----
def test_arithmetic_aliases(device):
    check_ops(lambda lib, a, b: [a.multiply(b), a.subtract(b, alpha=2), a.divide(b), a.true_divide(b), a.negative(),
                                 a.positive(), a.absolute(), a.sgn(), a.fix(), a.swapdims(0, 1), a.swapdims(-1, 0)],
              [A * 3, B], device)
    check_ops(lambda lib, a, b: [a.divide(b, rounding_mode="floor"), a.divide(b, rounding_mode="trunc"),
                                 a.true_divide(3)], [rand((5,), -9, 9, "int64", seed=4), np.int64(2)], device)


def test_comparison_aliases(device):
    x, y = A.copy(), A.copy()
    y[0] += 1  # some equal, some not
    check_ops(lambda lib, a, b: [a.greater(b), a.greater_equal(b), a.less(b), a.less_equal(b), a.not_equal(b)],
              [x, y], device, grad=False)


def test_positive_of_bool_is_refused(device):
    raises_baregrad(bg.DTypeError, TypeError, r"bool.*\(3,\)", lambda: bg.ones(3, dtype=bg.bool, device=device)
                    .positive())


# ---- metadata and new_* ----
@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8", "bool"])
def test_metadata(device, dtype):
    skip_unsupported(device, dtype)
    x, t = bg.zeros(2, 3, dtype=dtype, device=device), torch.zeros(2, 3, dtype=getattr(torch, dtype))
    assert (x.ndimension(), x.nelement(), x.nbytes, x.itemsize) == (t.ndimension(), t.nelement(), t.nbytes,
                                                                    t.itemsize)
    assert (x.is_signed(), x.is_complex(), bg.is_signed(x)) == (t.is_signed(), t.is_complex(), torch.is_signed(t))
    assert x.T.is_contiguous() and x.is_contiguous()
    assert x.get_device() == bg.get_device(x) == (-1 if device in ("CPU", "LLVM", "PYTHON") else 0)


def test_type_as_and_new(device):
    x, t = bg.Tensor(A, device=device), torch.from_numpy(A)
    ints = bg.Tensor(np.arange(3), device=device)
    compare(ints.type_as(x).numpy(), torch.arange(3).type_as(t).numpy())
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((2, 3),)), ("new_empty", (0, 2)),
                       ("new_full", ((2,), 7)), ("new_tensor", ([[1, 2]],))]:
        ours, theirs = getattr(x, name)(*args), getattr(t, name)(*args)
        assert ours.device == device and ours.dtype.name == str(theirs.dtype)[6:], name
        if name != "new_empty":
            compare(ours.numpy(), theirs.numpy(), what=name)
    made = x.new_full((2,), 3, dtype=bg.int32)
    assert made.dtype is bg.int32 and made.tolist() == [3, 3]
    copied = x.new_tensor(x)
    x += 1  # new_tensor copies: a later in-place write does not show through
    compare(copied.numpy(), A)
    assert x.new_ones(2, requires_grad=True).requires_grad


# ---- shape family ----
def test_flips_rotations_and_selection(device):
    rotations = [(1, (0, 1)), (2, (1, 2)), (3, (-1, 0)), (-1, (2, 1)), (4, (0, 2))]
    check_ops(lambda lib, a: [a.ravel(), a.fliplr(), a.flipud(), lib.rot90(a), lib.ravel(a)]
              + [a.rot90(k, dims) for k, dims in rotations]
              + [a.select(1, -1), a.select(-1, 2), lib.select(a, 0, 1), a.narrow_copy(1, -3, 2)], [C], device)


def test_tensor_split(device):
    specs = [3, 5, [1, 3], [3, 1, -1, 9]]
    check_ops(lambda lib, a: [p for spec in specs for p in a.tensor_split(spec, dim=1)] + list(a.tensor_split(3))
              + list(lib.tensor_split(a, [1], -1)), [rand((2, 7), seed=6)], device)
    idx = bg.Tensor(np.array([1, 3]), device=device)  # a tensor of indices is read back
    assert [p.shape for p in bg.Tensor(C, device=device).tensor_split(idx, 2)] == [(2, 3, 1), (2, 3, 2), (2, 3, 1)]


def test_directional_and_sized_splits(device):
    check_ops(lambda lib, a, v: [*a.hsplit(3), *a.vsplit([1, 3]), *lib.dsplit(a, 2), *a.split_with_sizes([1, 4, 1], 1),
                                 *v.hsplit(2)], [rand((4, 6, 2), seed=7), rand((6,), seed=8)], device)


def test_take_and_masked_select(device):
    index = np.array([[0, -1], [5, 11], [-12, 3]])
    mask = rand((3, 1), seed=9) > 0  # broadcasts along the columns
    mask[0] = True
    check_ops(lambda lib, a, i, m: [a.take(i), lib.take(a, i), a.masked_select(m), a.masked_select(a > 5)],
              [A, index, mask], device)  # a > 5 selects nothing


def test_unfold(device):
    cases = [(0, 3, 2), (1, 3, 1), (-2, 2, 3), (0, 4, 4), (0, 1, 1)]  # (dim, size, step) for the inputs in order
    inputs = [rand((9,), seed=10), rand((2, 7, 3), seed=11), rand((2, 7, 3), seed=12), rand((4, 5), seed=13),
              rand((), seed=14)]
    check_ops(lambda lib, *xs: [x.unfold(*case) for x, case in zip(xs, cases)], inputs, device)


def test_sum_to_size_and_kron(device):
    sizes = [(1, 4), (3, 1), (1, 1), (4,), (2, 3, 4), (1, 3, 1)]
    check_ops(lambda lib, a, b, c, d: [a.sum_to_size(size) for size in sizes] + [a.sum_to_size(2, 1, 4)]
              + [b.kron(c), lib.kron(d, b)], [C, rand((2, 3), seed=15), rand((4,), seed=16), rand((2, 1, 2), seed=17)],
              device)
    check_ops(lambda lib, a: [a.sum_to_size(1)], [rand((3,), -9, 9, "int32", seed=18)], device)


# ---- top-level functions ----
def _stacks(lib, s, v, m, c):
    return [lib.hstack((v, v * 2)), lib.vstack([v, v]), lib.row_stack((m, v)), lib.dstack((v, v * 2)),
            lib.hstack((m, m * 3)), lib.vstack((m, m * 3)), lib.dstack((c, m)), lib.hstack((s, v)),
            lib.column_stack((v[:2], m)), lib.column_stack((s, s * 2)), lib.concat((m, m), 1), lib.concatenate([v])]


def _at_least(lib, s, v, m, c):
    return [lib.atleast_1d(s), lib.atleast_2d(v), *lib.atleast_3d(s, v, m, c), *lib.atleast_2d([s, m, c]),
            *lib.atleast_1d((v,))]


def test_stacking(device):
    inputs = [rand((), seed=19), rand((3,), seed=20), rand((2, 3), seed=21), rand((2, 3, 2), seed=22)]
    check_ops(lambda lib, *ts: _stacks(lib, *ts) + _at_least(lib, *ts), inputs, device)
    s = bg.Tensor(inputs[0], device=device)
    assert isinstance(bg.atleast_1d(s), bg.Tensor) and isinstance(bg.atleast_1d(s, s), tuple)
    assert isinstance(bg.atleast_3d([s]), tuple)


def test_creation(device):
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    skip_unsupported(device, "int16")
    made = bg.from_numpy(x)
    assert made.dtype is bg.int16 and made.tolist() == torch.from_numpy(x).tolist()
    compare(bg.logspace(-1, 2, 7, device=device).numpy(), torch.logspace(-1, 2, 7).numpy(), scale=4)
    compare(bg.logspace(0, 3, 5, base=2, device=device).numpy(), torch.logspace(0, 3, 5, base=2).numpy(), scale=4)
    compare(bg.logspace(0, 3, 6, dtype=bg.int64, device=device).numpy(),
            torch.logspace(0, 3, 6, dtype=torch.int64).numpy())
    v = rand((4,), seed=23)
    check(lambda t: bg.vander(t), lambda t: torch.vander(t), [v], device, grad=False)
    # torch.vander has no backward (it writes its result in place): the powers written out give the gradient
    check(lambda t: bg.vander(t, 3, increasing=True), lambda t: t.unsqueeze(1) ** torch.arange(3.), [v], device)
    check(lambda t: bg.vander(t), lambda t: torch.vander(t), [rand((3,), -5, 5, "int64", seed=24)], device)


def test_combining(device):
    def combined(lib, m, v, s):
        return [lib.block_diag(m, v, s), lib.cartesian_prod(v, v[:2] * 2), lib.cartesian_prod(v)] + \
            [lib.combinations(v, r, repl) for r, repl in [(2, False), (3, True), (4, False), (0, False)]]
    check_ops(combined, [rand((2, 3), seed=25), rand((3,), seed=26), rand((), seed=27)], device)


def test_tensordot(device):
    a, b = rand((2, 3, 4), seed=28), rand((4, 3, 5), seed=29)
    dims = [([1, 2], [1, 0]), [[2], [0]], 0, ([1], [1])]
    check_ops(lambda lib, x, y, z, w: [lib.tensordot(x, y, d) for d in dims] + [lib.tensordot(x, z, 1),
                                                                              lib.tensordot(w, w)],
              [a, b, b.reshape(4, 15), A], device)


def test_cdist(device):
    x1, x2 = rand((2, 3, 4), seed=30), rand((1, 5, 4), seed=31)
    check_ops(lambda lib, u, w: [lib.cdist(u, w, p) for p in (2.0, 3.0, float("inf"))] + [lib.cdist(w[0], u)],
              [x1, x2], device, scale=10)
    check(lambda u, w: bg.cdist(u, w, 0.0), lambda u, w: torch.cdist(u, w, 0.0), [x1, x2], device, grad=False)


def test_trapezoid(device):
    xs = np.cumsum(rand((5,), 0.1, 1.0, seed=32)).astype(np.float32)
    full_x = np.cumsum(rand((3, 5), 0.1, 1.0, seed=33), axis=1).astype(np.float32)
    check_ops(lambda lib, y, x, fx: [lib.trapezoid(y), lib.trapz(y, dx=0.5, dim=0), lib.trapezoid(y, x),
                                     lib.trapezoid(y, fx, dim=1)], [rand((3, 5), seed=34), xs, full_x], device)
    # nothing to integrate: zeros (torch's result is cut off from the graph there, so no gradients compared)
    check_ops(lambda lib, e: [lib.trapezoid(e, dim=0)], [rand((0, 2), seed=35)], device, grad=False)


def test_forwarded_functions(device):
    check_ops(lambda lib, a, b: [lib.sum(lib.abs(a), 1), lib.max(a, 1).values, lib.min(a, b), lib.max(a),
                                 lib.multiply(lib.subtract(a, b), lib.divide(b, 2)), lib.negative(a),
                                 lib.greater(a, b), lib.fliplr(a), lib.swapdims(a, 0, 1)], [A, B], device)
    x = bg.Tensor(A, device=device)
    assert (bg.numel(x), bg.is_complex(x), bg.is_floating_point(x)) == (12, False, True)
    assert "sum" not in bg.__all__ and "hstack" in bg.__all__  # `from baregrad import *` keeps the builtins


# ---- errors: baregrad's error classes, with the shapes in the message ----
def test_shape_errors(device):
    m, v, c = bg.ones(2, 3, device=device), bg.ones(4, device=device), bg.ones(2, 3, 4, device=device)
    cases = [
        (bg.ShapeError, ValueError, r"\(4,\)", lambda: v.fliplr()),
        (bg.ShapeError, ValueError, r"dims=\(0, 0\).*\(2, 3\)", lambda: m.rot90(1, (0, 0))),
        (bg.ShapeError, ValueError, r"\(4,\)", lambda: v.rot90()),
        (bg.ShapeError, ValueError, r"dimension 2 .*\(2, 3\)", lambda: m.select(2, 0)),
        (bg.ShapeError, ValueError, r"dimension 3 .*\(2, 3, 4\)", lambda: c.tensor_split(2, dim=3)),
        (bg.ShapeError, ValueError, r"\(2, 3\).*2 equal", lambda: m.hsplit(2)),
        (bg.ShapeError, ValueError, r"\(2, 3\).*3 equal", lambda: m.vsplit(3)),
        (bg.ShapeError, ValueError, r"\(2, 3\)", lambda: m.dsplit(1)),
        (bg.ShapeError, ValueError, r"\[1, 1\].*\(2, 3\)", lambda: m.split_with_sizes([1, 1], 1)),
        (bg.ShapeError, ValueError, r"size 5.*\(4,\)", lambda: v.unfold(0, 5, 1)),
        (bg.ShapeError, ValueError, r"\(3, 2\).*\(2, 3\)", lambda: m.sum_to_size(3, 2)),
        (bg.ShapeError, ValueError, r"\(2, 3\).*\(4,\)", lambda: m.masked_select(v > 0)),
        (bg.ShapeError, ValueError, r"\(2, 3\)", lambda: bg.vander(m)),
        (bg.ShapeError, ValueError, r"\(2, 3, 4\)", lambda: bg.block_diag(m, c)),
        (bg.ShapeError, ValueError, r"\(2, 3\)", lambda: bg.combinations(m)),
        (bg.ShapeError, ValueError, r"\(2, 3\)", lambda: bg.cartesian_prod(v, m)),
        (bg.ShapeError, ValueError, r"\(2, 3\).*\(4,\)", lambda: bg.tensordot(m, v, 1)),
        (bg.ShapeError, ValueError, r"\(2, 3\).*\(2, 4\)", lambda: bg.cdist(m, bg.ones(2, 4, device=device))),
        (bg.ShapeError, ValueError, r"\(4,\).*\(2, 3\)", lambda: bg.trapezoid(m, v)),
    ]
    for kind, builtin, match, fn in cases:
        raises_baregrad(kind, builtin, match, fn)


def test_argument_and_index_errors(device):
    m, v = bg.ones(2, 3, device=device), bg.ones(4, device=device)
    raises_baregrad(bg.BoundsError, IndexError, r"index 3 .*\(2, 3\)", lambda: m.select(0, 3))
    raises_baregrad(bg.ArgumentError, ValueError, r"sections, got 0 .*\(2, 3\)", lambda: m.tensor_split(0))
    raises_baregrad(bg.ShapeError, ValueError, r"0-d", lambda: bg.ones((), device=device).tensor_split(2))
    raises_baregrad(bg.ArgumentError, ValueError, r"step=0", lambda: v.unfold(0, 2, 0))
    raises_baregrad(bg.ArgumentError, ValueError, r"\(2, 3\).*dims=5", lambda: bg.tensordot(m, m, 5))
    raises_baregrad(bg.ArgumentError, ValueError, r"p >= 0", lambda: bg.cdist(m, m, -1.0))
    raises_baregrad(bg.DTypeError, TypeError, r"float32", lambda: m.masked_select(m))
    raises_baregrad(bg.DTypeError, TypeError, r"float32", lambda: v.take(v))
    raises_baregrad(bg.DTypeError, TypeError, r"list", lambda: bg.from_numpy([1, 2]))
