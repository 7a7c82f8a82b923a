"""The rest of the Tensor API (tensor_ops) against torch, forward and backward, on every device.

Inputs are small (the PYTHON device interprets every kernel) and drawn away from each op's singular points,
so gradients are compared where torch's are well defined. Sort-like ops are checked for stable tie order.
"""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare

RNG = np.random.default_rng(11)


def _f32(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


A = _f32(3, 4)
B = _f32(3, 4)
V = _f32(5)


# ---- elementwise math ----
UNARY = [
    ("atan", lambda x: x.atan(), torch.atan, (-6.0, 6.0)),
    ("asin", lambda x: x.asin(), torch.asin, (-0.95, 0.95)),
    ("acos", lambda x: x.acos(), torch.acos, (-0.95, 0.95)),
    ("sinh", lambda x: x.sinh(), torch.sinh, (-3.0, 3.0)),
    ("cosh", lambda x: x.cosh(), torch.cosh, (-3.0, 3.0)),
    ("asinh", lambda x: x.asinh(), torch.asinh, (-5.0, 5.0)),
    ("acosh", lambda x: x.acosh(), torch.acosh, (1.1, 6.0)),
    ("atanh", lambda x: x.atanh(), torch.atanh, (-0.9, 0.9)),
    ("logit", lambda x: x.logit(), torch.logit, (0.05, 0.95)),
    ("sinc", lambda x: x.sinc(), torch.sinc, (-2.0, 2.0)),
    ("deg2rad", lambda x: x.deg2rad(), torch.deg2rad, (-200.0, 200.0)),
    ("rad2deg", lambda x: x.rad2deg(), torch.rad2deg, (-3.0, 3.0)),
    ("log1p", lambda x: x.log1p(), torch.log1p, (-0.5, 2.0)),
    ("expm1", lambda x: x.expm1(), torch.expm1, (-2.0, 2.0)),
    ("erf", lambda x: x.erf(), torch.erf, (-2.0, 2.0)),
]


@pytest.mark.parametrize("name,bg_fn,torch_fn,bounds", UNARY, ids=[u[0] for u in UNARY])
def test_unary(device, name, bg_fn, torch_fn, bounds):
    x = _f32(7, lo=bounds[0], hi=bounds[1])
    check(bg_fn, torch_fn, [x], device, scale=2)


def test_small_argument_accuracy(device):
    """log1p, expm1, sinh, asinh, atanh must not cancel near 0."""
    x = np.array([1e-7, -3e-6, 2e-4, -1e-3, 0.0], dtype=np.float32)
    for name in ("log1p", "expm1", "sinh", "asinh", "atanh", "atan", "asin"):
        check(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], device, grad=False)


def test_inverse_trig_edges(device):
    x = np.array([-1.0, 1.0, 0.0, math.inf, -math.inf, 1e30], dtype=np.float32)
    check(lambda t: t.atan(), torch.atan, [x], device, grad=False)
    check(lambda t: t.asin(), torch.asin, [x[:3]], device, grad=False)
    check(lambda t: t.acos(), torch.acos, [x[:3]], device, grad=False)


def test_atan2(device):
    y, x = _f32(9), _f32(9)
    check(lambda a, b: a.atan2(b), torch.atan2, [y, x], device, scale=2)
    ys = np.array([0.0, 1.0, -1.0, 0.0, 0.0, -0.0], np.float32)
    xs = np.array([1.0, 0.0, 0.0, -1.0, 0.0, -1.0], np.float32)
    check(lambda a, b: bg.atan2(a, b), torch.atan2, [ys, xs], device, grad=False)


BINARY = [
    ("hypot", lambda a, b: a.hypot(b), torch.hypot),
    ("logaddexp", lambda a, b: a.logaddexp(b), torch.logaddexp),
    ("logaddexp2", lambda a, b: a.logaddexp2(b), torch.logaddexp2),
    ("copysign", lambda a, b: a.copysign(b), torch.copysign),
]


@pytest.mark.parametrize("name,bg_fn,torch_fn", BINARY, ids=[b[0] for b in BINARY])
def test_binary(device, name, bg_fn, torch_fn):
    check(bg_fn, torch_fn, [A, B[:1]], device, scale=2, grad=name != "copysign")
    if name == "copysign":  # torch gives no gradient to the sign source
        sign_b, sign_t = bg.Tensor(B, device=device), torch.from_numpy(B)
        check(lambda a: a.copysign(sign_b), lambda a: a.copysign(sign_t), [A], device)


def test_logaddexp_ties_and_infinities(device):
    a = np.array([0.5, -math.inf, math.inf, 3.0], np.float32)
    b = np.array([0.5, -math.inf, math.inf, -math.inf], np.float32)
    check(lambda x, y: x.logaddexp(y), torch.logaddexp, [a, b], device, grad=False)
    check(lambda x, y: x.logaddexp(y), torch.logaddexp, [a[:1], b[:1]], device)  # gradient 1/2 each at a tie


def test_xlogy_heaviside(device):
    x = np.array([0.0, 1.5, -2.0, 0.0, 3.0], np.float32)
    y = np.array([0.0, 2.0, 0.5, 4.0, math.nan], np.float32)
    check(lambda a, b: a.xlogy(b), torch.xlogy, [x, y], device, grad=False)
    check(lambda a, b: a.xlogy(b), torch.xlogy, [x[1:4], y[1:4]], device)
    check(lambda a, b: a.heaviside(b), torch.heaviside, [x, np.full(5, 0.5, np.float32)], device, grad=False)


def test_integer_division_family(device):
    a = np.array([7, -7, 7, -7, 0, 5], np.int32)
    b = np.array([2, 2, -2, -2, 3, -5], np.int32)
    for name in ("floor_divide", "remainder", "fmod"):
        check(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(torch, name)(x, y), [a, b], device)
    fa, fb = _f32(6), np.array([1.5, -1.5, 0.7, -0.7, 2.0, -3.0], np.float32)
    for name in ("floor_divide", "remainder", "fmod"):
        check(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(torch, name)(x, y), [fa, fb], device,
              grad=name != "floor_divide")


def test_clamp_variants(device):
    check(lambda x: x.clamp_min(-0.5), lambda x: x.clamp_min(-0.5), [A], device)
    check(lambda x: x.clamp_max(0.5), lambda x: x.clamp_max(0.5), [A], device)
    check(lambda x: x.clip(-1, 1), lambda x: x.clip(-1, 1), [A], device)


def test_isclose_allclose_equal(device):
    a = np.array([1.0, 1.0, math.inf, math.nan, 0.0], np.float32)
    b = np.array([1.0 + 1e-6, 1.1, math.inf, math.nan, 1e-9], np.float32)
    check(lambda x, y: x.isclose(y), lambda x, y: x.isclose(y), [a, b], device)
    check(lambda x, y: x.isclose(y, equal_nan=True), lambda x, y: x.isclose(y, equal_nan=True), [a, b], device)
    x = bg.Tensor(A, device=device)
    assert x.allclose(x + 1e-9) and not x.allclose(x + 1)
    assert bg.equal(x, x * 1) and not bg.equal(x, x[:2]) and not x.equal(x + 1)


# ---- reductions ----
def test_count_nonzero_aminmax(device):
    m = np.array([[0, 1, 2], [0, 0, 3]], np.int32)
    check(lambda x: x.count_nonzero(), lambda x: x.count_nonzero(), [m], device)
    check(lambda x: x.count_nonzero(0), lambda x: x.count_nonzero(0), [m], device)
    lo, hi = bg.Tensor(A, device=device).aminmax(dim=1)
    tlo, thi = torch.from_numpy(A).aminmax(dim=1)
    compare(lo.numpy(), tlo.numpy())
    compare(hi.numpy(), thi.numpy())


def test_nan_reductions(device):
    x = A.copy()
    x[0, 1] = x[2, 3] = math.nan
    check(lambda t: t.nansum(), lambda t: t.nansum(), [x], device)
    check(lambda t: t.nanmean(1), lambda t: t.nanmean(1), [x], device)


def test_std_mean(device):
    check(lambda t: bg.stack(list(t.std_mean(1))), lambda t: torch.stack(torch.std_mean(t, 1)), [A], device)


def test_cumprod(device):
    x = A.copy()
    x[1, 2] = 0.0  # the backward divides nothing: an exclusive cumprod keeps zeros exact
    check(lambda t: t.cumprod(1), lambda t: t.cumprod(1), [x], device)
    check(lambda t: t.cumprod(0), lambda t: t.cumprod(0), [x], device)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(device, name):
    x = np.array([[1.0, 3.0, 2.0, 3.0, 0.5], [2.0, -1.0, -1.0, 4.0, -2.0]], np.float32)  # ties: latest index wins
    for dim in (1, 0):
        check(lambda t: getattr(t, name)(dim).values, lambda t: getattr(torch, name)(t, dim).values, [x], device)
        check(lambda t: getattr(t, name)(dim).indices, lambda t: getattr(torch, name)(t, dim).indices, [x], device)


def test_bincount(device):
    x = np.array([1, 3, 3, 0, 6], np.int64)
    check(lambda t: t.bincount(), lambda t: t.bincount(), [x], device)
    check(lambda t: t.bincount(minlength=9), lambda t: t.bincount(minlength=9), [x], device)
    w = _f32(5)
    check(lambda t, ww: t.bincount(ww), lambda t, ww: t.bincount(ww), [x, w], device, grad=False)


# ---- sorting ----
TIES = np.array([[3.0, 1.0, 2.0, 1.0, 3.0, 0.0], [5.0, 5.0, -1.0, 5.0, 2.0, -1.0]], np.float32)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable(device, descending):
    for dim in (-1, 0):
        ref = lambda t: t.sort(dim=dim, descending=descending, stable=True)  # noqa: E731
        check(lambda t: t.sort(dim, descending).values, lambda t: ref(t).values, [TIES], device)
        check(lambda t: t.sort(dim, descending).indices, lambda t: ref(t).indices, [TIES], device)
    check(lambda t: t.argsort(descending=descending), lambda t: t.argsort(descending=descending, stable=True),
          [TIES], device)


def test_sort_random_and_nan(device):
    x = _f32(2, 9)
    check(lambda t: t.sort().values, lambda t: t.sort().values, [x], device)
    y = np.array([2.0, math.nan, -1.0, math.inf, 0.0], np.float32)
    check(lambda t: t.sort().values, lambda t: t.sort().values, [y], device, grad=False)
    check(lambda t: t.sort().indices, lambda t: t.sort().indices, [y], device)


def test_sort_int_and_empty(device):
    x = np.array([4, -2, 7, -2, 0], np.int32)
    check(lambda t: t.sort(descending=True).values, lambda t: t.sort(descending=True, stable=True).values, [x],
          device)
    e = np.zeros((2, 0), np.float32)
    check(lambda t: t.sort(-1).values, lambda t: t.sort(-1).values, [e], device)


@pytest.mark.parametrize("largest", [True, False])
def test_topk(device, largest):
    x = _f32(3, 7)
    check(lambda t: t.topk(3, largest=largest).values, lambda t: t.topk(3, largest=largest).values, [x], device)
    check(lambda t: t.topk(3, largest=largest).indices, lambda t: t.topk(3, largest=largest).indices, [x], device)
    check(lambda t: t.topk(2, dim=0, largest=largest).values, lambda t: t.topk(2, dim=0, largest=largest).values,
          [x], device)


def test_median_kthvalue(device):
    x = _f32(3, 5)
    check(lambda t: t.median(), lambda t: t.median(), [x], device)
    check(lambda t: t.median(1).values, lambda t: t.median(1).values, [x], device)
    check(lambda t: t.median(0, keepdim=True).values, lambda t: t.median(0, keepdim=True).values, [x[:, :4]], device)
    check(lambda t: t.kthvalue(2, 1).indices, lambda t: t.kthvalue(2, 1).indices, [x], device)


def test_unique(device):
    x = np.array([[3, 1, 3], [0, 1, 7]], np.int64)
    bv, bi, bc = bg.Tensor(x, device=device).unique(return_inverse=True, return_counts=True)
    tv, ti, tc = torch.from_numpy(x).unique(return_inverse=True, return_counts=True)
    for b, t in ((bv, tv), (bi, ti), (bc, tc)):
        compare(b.numpy(), t.numpy())


def test_randperm_is_a_permutation(device):
    assert sorted(bg.randperm(9, device=device).tolist()) == list(range(9))


# ---- shape ----
def test_roll(device):
    check(lambda t: t.roll(1, 1), lambda t: t.roll(1, 1), [A], device)
    check(lambda t: t.roll((-1, 5), (0, 1)), lambda t: t.roll((-1, 5), (0, 1)), [A], device)
    check(lambda t: t.roll(3), lambda t: t.roll(3), [A], device)


def test_movedim_tile_flatten(device):
    x = _f32(2, 3, 4)
    check(lambda t: t.movedim(0, -1), lambda t: t.movedim(0, -1), [x], device)
    check(lambda t: bg.moveaxis(t, (0, 1), (2, 0)), lambda t: torch.moveaxis(t, (0, 1), (2, 0)), [x], device)
    check(lambda t: t.tile(2), lambda t: t.tile(2), [A], device)
    check(lambda t: t.tile((2, 1, 1)), lambda t: t.tile((2, 1, 1)), [A], device)
    check(lambda t: t.flatten(1).unflatten(1, (2, 6)), lambda t: t.flatten(1).unflatten(1, (2, 6)), [x], device)


def test_split_chunk_unbind(device):
    x = _f32(5, 2)
    check(lambda t: t.split(2)[2], lambda t: t.split(2)[2], [x], device)
    check(lambda t: t.split([1, 4])[1], lambda t: t.split([1, 4])[1], [x], device)
    check(lambda t: t.chunk(2)[1], lambda t: t.chunk(2)[1], [x], device)
    check(lambda t: t.unbind(1)[1], lambda t: t.unbind(1)[1], [x], device)


def test_diff(device):
    check(lambda t: t.diff(), lambda t: t.diff(), [A], device)
    check(lambda t: t.diff(2, dim=0), lambda t: t.diff(2, dim=0), [A], device)
    p = _f32(3, 1)
    check(lambda t, q: t.diff(prepend=q, append=q), lambda t, q: t.diff(prepend=q, append=q), [A, p], device)


def test_one_hot(device):
    from baregrad.tensor_ops.mixins import one_hot
    x = np.array([[0, 2], [1, 2]], np.int64)
    compare(one_hot(bg.Tensor(x, device=device), 4).numpy(), torch.nn.functional.one_hot(torch.from_numpy(x), 4))
    compare(one_hot(bg.Tensor(x, device=device)).numpy(), torch.nn.functional.one_hot(torch.from_numpy(x)))


def test_meshgrid_broadcast_tensors(device):
    a, b = _f32(3), _f32(2)
    for indexing in ("ij", "xy"):
        check(lambda x, y: bg.meshgrid(x, y, indexing=indexing)[0] * 2 + bg.meshgrid(x, y, indexing=indexing)[1],
              lambda x, y: torch.meshgrid(x, y, indexing=indexing)[0] * 2 + torch.meshgrid(x, y, indexing=indexing)[1],
              [a, b], device)
    check(lambda x, y: bg.broadcast_tensors(x, y)[0] - bg.broadcast_tensors(x, y)[1] * 2,
          lambda x, y: torch.broadcast_tensors(x, y)[0] - torch.broadcast_tensors(x, y)[1] * 2,
          [A, _f32(1, 4)], device)


def test_triangle_indices(device):
    for args in ((3, 3), (3, 4, 1), (4, 3, -1), (2, 2, -5)):
        compare(bg.tril_indices(*args, device=device).numpy(), torch.tril_indices(*args).numpy())
        compare(bg.triu_indices(*args, device=device).numpy(), torch.triu_indices(*args).numpy())


# ---- linear algebra ----
@pytest.mark.parametrize("k", [0, 1, -2])
def test_tril_triu(device, k):
    check(lambda t: t.tril(k), lambda t: t.tril(k), [A], device)
    check(lambda t: bg.triu(t, k), lambda t: torch.triu(t, k), [A], device)


@pytest.mark.parametrize("k", [0, 2, -1, 5])
def test_diagonal_diag(device, k):
    check(lambda t: t.diagonal(k), lambda t: t.diagonal(k), [A], device)
    check(lambda t: t.diag(k), lambda t: t.diag(k), [V], device)


def test_diagonal_batched_and_trace(device):
    x = _f32(2, 3, 3)
    check(lambda t: t.diagonal(0, 1, 2), lambda t: t.diagonal(0, 1, 2), [x], device)
    check(lambda t: t.diagonal(1, -1, 0), lambda t: t.diagonal(1, -1, 0), [x], device)
    check(lambda t: t.trace(), lambda t: t.trace(), [A], device)


def test_outer_dot_cross(device):
    check(lambda a, b: a.outer(b), lambda a, b: a.outer(b), [V, V[:3]], device)
    check(lambda a, b: a.dot(b), lambda a, b: a.dot(b), [V, V[::-1].copy()], device)
    a, b = _f32(2, 3), _f32(2, 3)
    check(lambda x, y: x.cross(y, dim=1), lambda x, y: torch.cross(x, y, dim=1), [a, b], device)
    check(lambda x, y: bg.linalg.cross(x.T, y.T, dim=0), lambda x, y: torch.linalg.cross(x.T, y.T, dim=0),
          [a, b], device)


@pytest.mark.parametrize("p", [1, 2, math.inf, 3, 0])
def test_vector_norm(device, p):
    check(lambda t: bg.linalg.vector_norm(t, p), lambda t: torch.linalg.vector_norm(t, p), [A], device, scale=2,
          grad=p != 0)
    check(lambda t: bg.linalg.vector_norm(t, p, dim=1, keepdim=True),
          lambda t: torch.linalg.vector_norm(t, p, dim=1, keepdim=True), [A], device, scale=2, grad=p != 0)


def test_norm(device):
    check(lambda t: t.norm(), lambda t: t.norm(), [A], device)
    check(lambda t: t.norm(1, dim=0), lambda t: t.norm(1, dim=0), [A], device)
    check(lambda t: bg.linalg.norm(t, math.inf, dim=(0, 1)), lambda t: torch.linalg.norm(t, math.inf, dim=(0, 1)),
          [A], device)


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->ji", [(3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
    ("b...,b->...", [(2, 3, 1), (2,)]),
    ("ijk->", [(2, 3, 2)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 2), (2, 2)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum(device, equation, shapes):
    inputs = [_f32(*s) for s in shapes]
    check(lambda *t: bg.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), inputs, device, scale=2)


def test_einsum_errors():
    with pytest.raises(bg.ShapeError):
        bg.einsum("ij,jk->ik", bg.ones(2, 3), bg.ones(4, 2))
    with pytest.raises(bg.ArgumentError):
        bg.einsum("ij->ik", bg.ones(2, 3))


def test_addmm_baddbmm(device):
    m1, m2, base = _f32(3, 4), _f32(4, 2), _f32(2)
    check(lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2), lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2),
          [base, m1, m2], device)
    b1, b2, bb = _f32(2, 3, 4), _f32(2, 4, 2), _f32(2, 3, 2)
    check(lambda c, a, b: bg.baddbmm(c, a, b, alpha=0.5), lambda c, a, b: torch.baddbmm(c, a, b, alpha=0.5),
          [bb, b1, b2], device)
