"""more_math, special, statistics, indexing, random and inplace (tensor_ops) against torch, on every device.

Deterministic ops are compared forward and backward with tests.helpers.check. Random ops are checked by their
statistics (generous bounds, a few thousand draws) and by reproducibility under baregrad.manual_seed, never by
torch's bits. Shapes are small: every new shape compiles kernels.
"""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare, raises_baregrad

RNG = np.random.default_rng(5)


def _f32(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def _bg(x, device, **kw):
    return bg.Tensor(x, device=device, **kw)


# ---- special functions ----
LGAMMA_X = np.array([-20.3, -4.04, -2.5, -0.7, -1e-3, 1e-6, 0.3, 0.9999, 1.0, 1.46, 2.0, 2.5, 7.4, 7.6, 30.0, 1e4],
                    np.float32)
SPECIAL = [
    ("lgamma", LGAMMA_X, LGAMMA_X[[2, 3, 6, 9, 11, 12, 13, 14]]),
    ("digamma", LGAMMA_X[LGAMMA_X != 1e-6], LGAMMA_X[[2, 3, 6, 9, 11, 12, 13, 14]]),
    ("erfc", np.array([-3, -0.5, -1e-4, 0, 0.3, 0.9, 1.7, 3.1, 5.5, 8.5], np.float32),
     np.array([-1.5, -0.2, 0.4, 1.1, 2.3], np.float32)),
    ("erfinv", np.array([-0.999999, -0.9, -0.3, -1e-5, 0, 0.2, 0.7, 0.99, 0.99999], np.float32),
     np.array([-0.8, -0.1, 0.3, 0.6], np.float32)),
]


@pytest.mark.parametrize("name,x,xg", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_functions(device, name, x, xg):
    fn = lambda t: getattr(t, name)()  # noqa: E731
    check(fn, getattr(torch, name), [x], device, grad=False, scale=2)
    check(fn, getattr(torch, name), [xg], device, scale=2)


def test_special_function_edges(device):
    x = np.array([0.0, -0.0, 1.0, 2.0, -1.0, -3.0, math.inf, -math.inf, math.nan], np.float32)
    for name in ("lgamma", "digamma", "erfc"):
        check(lambda t: getattr(t, name)(), getattr(torch, name), [x], device, grad=False)
    y = np.array([-1.0, 1.0, 1.5, -2.0, math.nan, 0.5], np.float32)
    check(lambda t: t.erfinv(), torch.erfinv, [y], device, grad=False)
    check(lambda t: t.lgamma(), torch.lgamma, [np.array([1, 5, 20], np.int32)], device, grad=False)


def test_special_accuracy_against_mpmath():
    """Relative accuracy over a wide range, lgamma's negative axis included, against an exact reference."""
    mp = pytest.importorskip("mpmath")
    x = np.concatenate([np.linspace(-15.3, 35, 301), np.linspace(0.5, 2.5, 41)]).astype(np.float32)
    x = x[x != np.round(x)]
    out = bg.Tensor(x).lgamma().numpy().astype(np.float64)
    ref = np.array([float(mp.log(abs(mp.gamma(mp.mpf(float(v)))))) for v in x])
    assert np.max(np.abs(out - ref) / np.maximum(np.abs(ref), 1)) < 2e-6  # absolute near lgamma's zeros
    pos = x[x > 0]
    ref = np.array([float(mp.digamma(mp.mpf(float(v)))) for v in pos])
    assert np.max(np.abs(bg.Tensor(pos).digamma().numpy() - ref) / np.maximum(np.abs(ref), 1)) < 2e-6
    y = np.linspace(-0.99999, 0.99999, 201).astype(np.float32)
    ref = np.array([float(mp.erfinv(mp.mpf(float(v)))) for v in y])
    assert np.max(np.abs(bg.Tensor(y).erfinv().numpy() - ref) / np.maximum(np.abs(ref), 1e-30)) < 1e-6
    z = np.linspace(-3, 9, 121).astype(np.float32)
    ref = np.array([float(mp.erfc(mp.mpf(float(v)))) for v in z])
    assert np.max(np.abs(bg.Tensor(z).erfc().numpy() - ref) / ref) < 1e-6  # relative, deep into the tail


# ---- more math ----
def test_addcmul_addcdiv_mv_vdot(device):
    a, b, c = _f32(2, 3), _f32(3), _f32(2, 1, lo=0.5, hi=2.0)
    check(lambda s, t1, t2: s.addcmul(t1, t2, value=0.5), lambda s, t1, t2: s.addcmul(t1, t2, value=0.5),
          [a, b, c], device)
    check(lambda s, t1, t2: bg.addcdiv(s, t1, t2, value=-2), lambda s, t1, t2: torch.addcdiv(s, t1, t2, value=-2),
          [a, b, c], device)
    ints = [np.array([1, 2, 3], np.int32)] * 3
    check(lambda s, t1, t2: s.addcmul(t1, t2, value=0.5), lambda s, t1, t2: s.addcmul(t1, t2, value=0.5), ints,
          device)
    check(lambda m, v: m.mv(v), torch.mv, [_f32(2, 3), b], device)
    check(lambda u, v: u.vdot(v), torch.vdot, [b, _f32(3)], device)


@pytest.mark.parametrize("p", [2, 1, 3, math.inf])
def test_dist(device, p):
    check(lambda x, y: x.dist(y, p), lambda x, y: x.dist(y, p), [_f32(2, 3), _f32(3)], device, scale=2)


def test_renorm(device):
    x = np.array([[3.0, 4.0, 0.5], [0.1, 0.2, 0.3], [-2.0, 1.0, 2.0]], np.float32)
    check(lambda t: t.renorm(2, 0, 1.0), lambda t: t.renorm(2, 0, 1.0), [x], device, scale=2)
    check(lambda t: t.renorm(1, 1, 2.5), lambda t: t.renorm(1, 1, 2.5), [x], device, scale=2)


def test_fmax_fmin(device):
    a = np.array([1.0, math.nan, 2.0, math.nan, -0.5, 3.0], np.float32)
    b = np.array([0.5, 1.0, math.nan, math.nan, -0.5, 4.0], np.float32)
    for name in ("fmax", "fmin"):
        check(lambda x, y: getattr(x, name)(y), getattr(torch, name), [a, b], device, grad=False)
        # finite inputs with a tie: the gradient of a tie goes to self, as in torch
        check(lambda x, y: getattr(x, name)(y), getattr(torch, name), [a[[0, 4, 5]], b[[0, 4, 5]]], device)
    ints = [np.array([1, -5, 3], np.int32), np.array([2, -7, 3], np.int32)]
    check(lambda x, y: x.fmax(y), torch.fmax, ints, device)


def test_logcumsumexp(device):
    x = np.array([[-80.0, 0.5, 90.0, -3.0, 1.0], [1.0, 2.0, -math.inf, 3.0, 0.0]], np.float32)
    check(lambda t: t.logcumsumexp(1), lambda t: t.logcumsumexp(1), [x], device, grad=False, scale=2)
    check(lambda t: t.logcumsumexp(0), lambda t: t.logcumsumexp(0), [_f32(3, 2)], device, scale=2)
    check(lambda t: t.logcumsumexp(-1), lambda t: t.logcumsumexp(-1), [_f32(2, 4, lo=-30, hi=30)], device,
          scale=2)


def test_gcd_lcm(device):
    a = np.array([0, 0, 12, -18, 1836311903, 7, 2**30, -1], np.int32)
    b = np.array([0, 5, 18, 12, 1134903170, 0, 3 * 2**20, 1], np.int32)  # consecutive Fibonacci: worst case
    check(lambda x, y: x.gcd(y), torch.gcd, [a, b], device)
    check(lambda x, y: x.lcm(y), torch.lcm, [a[[0, 1, 2, 3, 5, 7]], b[[0, 1, 2, 3, 5, 7]]], device)
    if device != "WEBGPU":  # WGSL computes int64 in 32 bits (render/wgsl.py)
        check(lambda x, y: x.gcd(y), torch.gcd, [np.array([2**40 * 3, -6], np.int64), np.array([2**41, 4], np.int64)],
              device)


def test_ldexp_and_shifts(device):
    x, e = _f32(5), np.array([0, 3, -4, 20, 1], np.int32)
    check(lambda t, s: t.ldexp(s), torch.ldexp, [x, e], device, grad=False)  # exact powers of two
    check(lambda t, s: t.ldexp(s), torch.ldexp, [x, np.abs(e)], device)
    t = _bg(x, device, requires_grad=True)
    t.ldexp(_bg(e, device)).sum().backward()  # torch's gradient is 0 for a negative integer exponent (an integer
    compare(t.grad.numpy(), 2.0 ** e)        # power in its backward): this one is 2**e
    check(lambda t, s: t.ldexp(s), torch.ldexp, [x, np.array([0.5, -1.5, 2, 0, 1], np.float32)], device)
    a = np.array([1, -2, 5, -7, 3, 123], np.int32)
    s = np.array([0, 1, 31, 32, -1, 40], np.int32)
    check(lambda t, k: t.bitwise_left_shift(k), torch.bitwise_left_shift, [a, s], device)
    check(lambda t, k: t.bitwise_right_shift(k), torch.bitwise_right_shift, [a, s], device)
    for k in (3, 40, -2):
        check(lambda t: t.bitwise_left_shift(k), lambda t: t.bitwise_left_shift(k), [a], device)
        check(lambda t: bg.bitwise_right_shift(t, k), lambda t: torch.bitwise_right_shift(t, k), [a], device)
    u = np.array([200, 1, 255], np.uint8)
    check(lambda t: t.bitwise_right_shift(9), lambda t: t.bitwise_right_shift(9), [u], device)


def test_classification_and_nextafter(device):
    x = np.array([1.0, math.inf, -math.inf, math.nan, 0.0, -2.5], np.float32)
    for name in ("isposinf", "isneginf", "isreal"):
        check(lambda t: getattr(t, name)(), getattr(torch, name), [x], device)
        check(lambda t: getattr(t, name)(), getattr(torch, name), [np.array([1, -2], np.int32)], device)
    a = np.array([1.0, 1.0, -1.0, -1.0, 3.5, 1e30, -2.0], np.float32)
    b = np.array([2.0, 0.0, 0.0, -2.0, 3.5, math.inf, -1e-3], np.float32)
    check(lambda s, t: s.nextafter(t), torch.nextafter, [a, b], device, grad=False)
    check(lambda s, t: s.nextafter(t), torch.nextafter, [x, np.full(6, 2.0, np.float32)], device, grad=False)


# ---- statistics ----
def test_quantile(device):
    x = _f32(3, 5)
    q = np.array([0.0, 0.25, 0.5, 0.9, 1.0], np.float32)
    qt, qb = torch.from_numpy(q), _bg(q, device)
    for mode in ("linear", "lower", "higher", "midpoint", "nearest"):
        check(lambda t: t.quantile(qb, dim=0, keepdim=True, interpolation=mode),
              lambda t: t.quantile(qt, dim=0, keepdim=True, interpolation=mode), [x], device)
    check(lambda t: t.quantile(0.3, dim=1), lambda t: t.quantile(0.3, dim=1), [x], device)
    check(lambda t: bg.quantile(t, qb), lambda t: torch.quantile(t, qt), [x], device)


def test_quantile_nan_rows_and_nanquantile(device):
    x = np.array([[1.0, math.nan, 3.0, 0.5], [math.nan] * 4, [4.0, 2.0, -1.0, 0.0]], np.float32)
    q = np.array([0.1, 0.5, 0.75], np.float32)
    qt, qb = torch.from_numpy(q), _bg(q, device)
    for name in ("quantile", "nanquantile"):
        check(lambda t: getattr(t, name)(qb, 1), lambda t: getattr(t, name)(qt, 1), [x], device, grad=False)
        check(lambda t: getattr(t, name)(0.4, 1, True), lambda t: getattr(t, name)(0.4, 1, True), [x], device,
              grad=False)
    check(lambda t: t.nanquantile(0.5, 1), lambda t: t.nanquantile(0.5, 1), [x[[0, 2]]], device)


def test_mode(device):
    x = np.array([[1, 2, 2, 3, 3], [5, 4, 4, 5, 1], [7, 7, 7, 7, 7]], np.int32)
    for dim, keepdim in ((1, False), (0, True)):
        values, indices = _bg(x, device).mode(dim, keepdim)
        expected = torch.from_numpy(x).mode(dim, keepdim)
        compare(values.numpy(), expected.values.numpy(), what="values")
        picked = np.take_along_axis(x, indices.numpy() if keepdim else np.expand_dims(indices.numpy(), dim), dim)
        compare(picked, expected.values.numpy() if keepdim else np.expand_dims(expected.values.numpy(), dim))
    f = np.array([[0.5, -1.0, 0.5, 2.0], [3.0, 3.0, -1.0, -1.0]], np.float32)
    check(lambda t: t.mode(1).values, lambda t: t.mode(1).values, [f], device)  # gradient to the chosen index
    assert _bg(np.float32(3.0), device).mode().indices.item() == 0


def test_histc(device):
    x = np.array([0.0, 0.1, 0.99, 1.0, 1.5, 2.0, -0.5, 2.5, math.nan, 1.0], np.float32)
    check(lambda t: t.histc(4, 0, 2), lambda t: t.histc(4, 0, 2), [x], device)
    finite = x[np.isfinite(x)]
    check(lambda t: t.histc(5), lambda t: t.histc(5), [finite], device)  # min == max: the data's own range
    check(lambda t: bg.histc(t, 3), lambda t: torch.histc(t, 3), [np.full(4, 2.0, np.float32)], device)


def test_cov_corrcoef(device):
    x = _f32(3, 6)
    check(lambda t: t.cov(), torch.cov, [x], device, scale=2)
    check(lambda t: t.cov(correction=0), lambda t: torch.cov(t, correction=0), [x[0]], device, scale=2)
    fw, aw = np.array([1, 2, 1, 3, 1, 1], np.int32), np.array([0.5, 1.0, 2.0, 0.1, 1.0, 0.7], np.float32)
    fb, ab, ft, at = _bg(fw, device), _bg(aw, device), torch.from_numpy(fw), torch.from_numpy(aw)
    check(lambda t: t.cov(fweights=fb, aweights=ab), lambda t: torch.cov(t, fweights=ft, aweights=at), [x], device,
          scale=4)
    check(lambda t: t.corrcoef(), torch.corrcoef, [x], device, scale=2)
    check(lambda t: t.corrcoef(), torch.corrcoef, [np.array([[1, 2, 4], [2, 2, 9]], np.int32)], device)


# ---- indexed writes ----
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce(device, reduce):
    self_ = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0], [2.0, 2.0, 2.0]], np.float32)
    src = np.array([[2.0, 3.0, 3.0, 9.0], [-1.0, 0.5, 1.5, 7.0]], np.float32)  # ties with self at [0, 2], [1, 2]
    index = np.array([[0, 0, 2], [2, 0, 0]], np.int64)
    it, ib = torch.from_numpy(index), _bg(index, device)
    # without self, torch still counts a self equal to the result when it shares an amax/amin gradient (and then
    # drops self's share); baregrad shares it among the src values only: the inputs avoid that coincidence
    for include_self, base in ((True, self_), (False, self_ + 10)):
        check(lambda s, x: s.scatter_reduce(1, ib, x, reduce, include_self=include_self),
              lambda s, x: s.scatter_reduce(1, it, x, reduce, include_self=include_self), [base, src[:, :3]],
              device)
    # a src larger than the index: only its leading part is read (torch's backward fails on this one)
    check(lambda s, x: s.scatter_reduce(1, ib, x, reduce), lambda s, x: s.scatter_reduce(1, it, x, reduce),
          [self_, src], device, grad=False)
    ints = (np.array([[1, 5, 3], [4, 4, 4]], np.int32), np.array([[2, 7], [-3, 9]], np.int32))
    ix = np.array([[1, 1], [0, 0]], np.int64)
    check(lambda s, x: s.scatter_reduce(0, _bg(ix, device), x, reduce),
          lambda s, x: s.scatter_reduce(0, torch.from_numpy(ix), x, reduce), list(ints), device)


def test_index_copy_fill_put(device):
    x, src = _f32(4, 3), _f32(2, 3)
    idx = np.array([3, 0], np.int64)
    it, ib = torch.from_numpy(idx), _bg(idx, device)
    check(lambda s, v: s.index_copy(0, ib, v), lambda s, v: s.index_copy(0, it, v), [x, src], device)
    check(lambda s: s.index_fill(1, _bg(np.array([-1, 0]), device), -7.0),
          lambda s: s.index_fill(1, torch.tensor([-1, 0]), -7.0), [x], device)
    value = np.float32(2.5)
    check(lambda s, v: s.index_fill(0, ib, v), lambda s, v: s.index_fill(0, it, v), [x, value], device)
    rows, cols = np.array([0, 2, 0], np.int64), np.array([1, 1, 1], np.int64)
    bidx = (_bg(rows, device), _bg(cols, device))
    tidx = (torch.from_numpy(rows), torch.from_numpy(cols))
    vals = np.array([1.0, 2.0, 3.0], np.float32)
    check(lambda s, v: s.index_put(bidx, v, accumulate=True), lambda s, v: s.index_put(tidx, v, accumulate=True),
          [x, vals], device)
    # without accumulate, a repeated position keeps one value (and only that value gets its gradient)
    check(lambda s, v: s.index_put(bidx[1:], v), lambda s, v: s.index_put(tidx[1:], v), [x, vals[:1]], device,
          grad=False)
    check(lambda s, v: s.index_put(bidx[:1], v), lambda s, v: s.index_put(tidx[:1], v), [x[:3], vals[:1]], device,
          grad=False)
    check(lambda s, v: s.index_put((bidx[0][:2],), v), lambda s, v: s.index_put((tidx[0][:2],), v),
          [x, vals[:1]], device)


def test_masked_scatter_and_take_along_dim(device):
    x, source = _f32(2, 3), _f32(7)
    mask = np.array([[True, False, True], [False, True, True]])
    check(lambda s, v: s.masked_scatter(_bg(mask, device), v),
          lambda s, v: s.masked_scatter(torch.from_numpy(mask), v), [x, source], device)
    row_mask = np.array([False, True, True])  # broadcast over the rows
    check(lambda s, v: s.masked_scatter(_bg(row_mask, device), v),
          lambda s, v: s.masked_scatter(torch.from_numpy(row_mask), v), [x, source], device)
    idx = np.array([5, 0, 2], np.int64)
    check(lambda s: s.take_along_dim(_bg(idx, device)), lambda s: s.take_along_dim(torch.from_numpy(idx)), [x],
          device)


# ---- sampling ----
def test_multinomial(device):
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]], np.float32)
    p = _bg(probs * 7, device)  # weights need not sum to 1
    row = _bg(probs[0] * 7, device)
    bg.manual_seed(3)
    draws = row.multinomial(2000, replacement=True).numpy()
    assert draws.shape == (2000,) and draws.dtype == np.int64
    freq = np.bincount(draws, minlength=4) / 2000
    assert np.all(np.abs(freq - probs[0]) < 0.05), freq
    assert not np.any(draws == 1)  # zero weight: never drawn
    bg.manual_seed(3)
    np.testing.assert_array_equal(bg.multinomial(row, 2000, True).numpy(), draws)
    full = p.multinomial(4).numpy()  # without replacement: every category once, the zero weight last
    assert sorted(full[1].tolist()) == [0, 1, 2, 3] and sorted(full[0].tolist()) == [0, 1, 2, 3]
    assert full[0][-1] == 1
    first = _bg(np.tile(probs[:1], (800, 1)), device).multinomial(1).numpy()[:, 0]  # the first pick of a race
    assert np.all(np.abs(np.bincount(first, minlength=4) / 800 - probs[0]) < 0.07)


def test_samplers_statistics(device):
    n = 4000
    bg.manual_seed(0)
    cases = [
        (lambda t: t.normal_(2.0, 0.5), 2.0, 0.5 ** 2),
        (lambda t: t.uniform_(-1.0, 3.0), 1.0, 16 / 12),
        (lambda t: t.exponential_(2.0), 0.5, 0.25),
        (lambda t: t.geometric_(0.25), 4.0, 0.75 / 0.0625),
        (lambda t: t.bernoulli_(0.3), 0.3, 0.21),
        (lambda t: t.random_(3, 9), 5.5, (36 - 1) / 12),
    ]
    for fill, mean, var in cases:
        x = fill(bg.zeros(n, device=device)).numpy()
        assert abs(x.mean() - mean) < 4 * math.sqrt(var / n) + 1e-3, (fill, x.mean(), mean)
        assert abs(x.var() - var) < 0.15 * var, (fill, x.var(), var)
    ints = bg.zeros(n, dtype=bg.int32, device=device).random_(5).numpy()
    assert set(np.unique(ints).tolist()) == {0, 1, 2, 3, 4}
    assert 0.8 < np.median(bg.zeros(n, device=device).log_normal_(0.0, 1.0).numpy()) < 1.2
    assert abs(np.median(bg.zeros(n, device=device).cauchy_(3.0, 0.1).numpy()) - 3.0) < 0.02
    flips = _bg(np.array([0.0, 1.0, 0.5] * 1000, np.float32), device).bernoulli().numpy().reshape(-1, 3)
    assert flips[:, 0].sum() == 0 and flips[:, 1].sum() == 1000 and 400 < flips[:, 2].sum() < 600


def test_normal_function_and_reproducibility(device):
    bg.manual_seed(11)
    a = bg.normal(_bg(np.array([0.0, 10.0], np.float32), device), 0.1)
    b = bg.normal(0.0, 2.0, (3000,), device=device)
    c = bg.normal(_bg(np.zeros((2, 1), np.float32), device), _bg(np.array([1.0, 2.0, 3.0], np.float32), device))
    assert a.shape == (2,) and abs(a.numpy()[1] - 10) < 1 and c.shape == (2, 3)
    assert abs(b.numpy().std() - 2.0) < 0.15
    bg.manual_seed(11)
    np.testing.assert_array_equal(bg.normal(_bg(np.array([0.0, 10.0], np.float32), device), 0.1).numpy(), a.numpy())
    x = _bg(np.ones(3, np.float32), device, requires_grad=True)
    assert not x.bernoulli().requires_grad  # samples carry no gradient


# ---- in place ----
INPLACE = [
    ("exp_", (), np.float32), ("sqrt_", (), np.float32), ("abs_", (), np.float32), ("neg_", (), np.float32),
    ("sigmoid_", (), np.float32), ("tanh_", (), np.float32), ("relu_", (), np.float32), ("round_", (), np.float32),
    ("floor_", (), np.float32), ("sign_", (), np.float32), ("trunc_", (), np.float32), ("lgamma_", (), np.float32),
    ("clamp_", (-0.5, 0.5), np.float32), ("clip_", (None, 0.2), np.float32), ("pow_", (2,), np.float32),
    ("tril_", (), np.float32), ("triu_", (1,), np.float32), ("nan_to_num_", (), np.float32),
]


def test_inplace_unary_family(device):
    x = np.abs(_f32(3, 3)) + 0.1
    for name, args, _ in INPLACE:
        ours, theirs = _bg(x, device), torch.from_numpy(x.copy())
        assert getattr(ours, name)(*args) is ours
        getattr(theirs, name)(*args)
        compare(ours.numpy(), theirs.numpy(), scale=2, what=name)


def test_inplace_indexed_and_binary(device):
    x = _f32(3, 4)
    idx = np.array([[0, 2, 1, 0]], np.int64)
    src = _f32(1, 4)
    mask = x > 0
    other, w = _f32(3, 4), _f32(3, 4, lo=0.5, hi=2)
    cases = [
        ("masked_fill_", lambda m: (m(mask), 9.0)), ("scatter_", lambda m: (0, m(idx), m(src))),
        ("scatter_add_", lambda m: (0, m(idx), m(src))),
        ("index_add_", lambda m: (1, m(np.array([3, 1])), m(x[:, :2]))),
        ("index_fill_", lambda m: (0, m(np.array([2])), -1.0)),
        ("index_copy_", lambda m: (0, m(np.array([1])), m(src))),
        ("lerp_", lambda m: (m(other), 0.3)), ("addcmul_", lambda m: (m(other), m(w))),
        ("addcdiv_", lambda m: (m(other), m(w))), ("div_", lambda m: (m(w),)), ("sub_", lambda m: (m(other),)),
        ("mul_", lambda m: (m(w),)), ("scatter_reduce_", lambda m: (0, m(idx), m(src), "amax")),
    ]
    for name, make in cases:
        ours, theirs = _bg(x, device), torch.from_numpy(x.copy())
        getattr(ours, name)(*make(lambda a: _bg(a, device)))
        getattr(theirs, name)(*make(torch.from_numpy))
        compare(ours.numpy(), theirs.numpy(), scale=2, what=name)


def test_inplace_autograd_and_views(device):
    a = _bg(_f32(2, 3), device, requires_grad=True)
    raises_baregrad(bg.ArgumentError, ValueError, "leaf", lambda: a.exp_())
    raises_baregrad(bg.ArgumentError, ValueError, r"leaf.*\(2, 3\)", lambda: a.unsqueeze_(0))
    ta = torch.from_numpy(a.numpy()).requires_grad_()
    y, ty = a * 2, ta * 2
    y.add_(1).unsqueeze_(0).transpose_(1, 2).sin_()
    ty.add_(1).unsqueeze_(0).transpose_(1, 2).sin_()
    assert y.shape == tuple(ty.shape) == (1, 3, 2)
    z, tz = (a * 3).exp_(), (ta * 3).exp_()
    ((y * y).sum() + z.sum()).backward()
    ((ty * ty).sum() + tz.sum()).backward()
    compare(a.grad.numpy(), ta.grad.numpy(), scale=10)
    v = _bg(np.zeros((2, 1, 3), np.float32), device)
    assert v.squeeze_().shape == (2, 3) and v.t_().shape == (3, 2) and v.swapaxes_(0, 1).shape == (2, 3)
    with bg.no_grad():
        assert a.unsqueeze_(-1).shape == (2, 3, 1) and a.is_leaf


@pytest.mark.parametrize("shape,wrap", [((3, 4), False), ((7, 3), True), ((7, 3), False), ((3, 3, 3), False)])
def test_fill_diagonal_(device, shape, wrap):
    ours, theirs = bg.zeros(*shape, device=device), torch.zeros(*shape)
    ours.fill_diagonal_(5.0, wrap=wrap)
    theirs.fill_diagonal_(5.0, wrap=wrap)
    compare(ours.numpy(), theirs.numpy())


def test_every_generated_inplace_has_its_op():
    from baregrad.tensor_ops.inplace import INPLACE_OF
    missing = [n for n in INPLACE_OF if not callable(getattr(bg.Tensor, n, None))]
    shadowed = [n for n in INPLACE_OF if f"{n}_" in vars(bg.Tensor)]  # tensor.py's hand-written ones would win
    assert not missing and not shadowed, (missing, shadowed)


# ---- errors: baregrad exceptions naming the shapes ----
def test_errors():
    m, v = bg.ones(2, 3), bg.ones(3)
    i = bg.tensor([0, 1])
    cases = [
        (bg.ShapeError, ValueError, r"\(2, 3\).*\(2,\)", lambda: m.mv(bg.ones(2))),
        (bg.ShapeError, ValueError, r"\(3,\).*\(4,\)", lambda: v.vdot(bg.ones(4))),
        (bg.DTypeError, TypeError, "same dtype", lambda: v.vdot(v.double())),
        (bg.DTypeError, TypeError, r"integer division.*\(1,\)", lambda: v.addcdiv(i[:1], i[:1])),
        (bg.ShapeError, ValueError, r"\(3,\)", lambda: v.renorm(2, 0, 1.0)),
        (bg.ArgumentError, ValueError, "non-positive", lambda: m.renorm(0, 0, 1.0)),
        (bg.DTypeError, TypeError, r"int64.*\(2,\)", lambda: i.logcumsumexp(0)),
        (bg.DTypeError, TypeError, r"float32.*\(3,\)", lambda: v.gcd(v)),
        (bg.ArgumentError, ValueError, r"\[0, 1\].*1\.5", lambda: v.quantile(1.5)),
        (bg.DTypeError, TypeError, "dtype", lambda: v.quantile(bg.tensor([0.5]).double())),
        (bg.ShapeError, ValueError, r"\(0,\)", lambda: bg.ones(0).quantile(0.5)),
        (bg.ArgumentError, ValueError, "interpolation", lambda: v.quantile(0.5, interpolation="cubic")),
        (bg.ShapeError, ValueError, r"\(2, 0\)", lambda: bg.ones(2, 0).mode(1)),
        (bg.ArgumentError, ValueError, "bins", lambda: v.histc(0)),
        (bg.DTypeError, TypeError, "int64", lambda: i.histc()),
        (bg.ShapeError, ValueError, r"\(2,\)", lambda: m.cov(fweights=bg.tensor([1, 2]))),
        (bg.DTypeError, TypeError, "fweights", lambda: m.cov(fweights=v)),
        (bg.ArgumentError, ValueError, "reduce", lambda: m.scatter_reduce(0, i.reshape(1, 2), m, "max")),
        (bg.DTypeError, TypeError, "dtype", lambda: m.scatter_reduce(0, i.reshape(1, 2), m.int(), "sum")),
        (bg.ShapeError, ValueError, r"\(1, 4\).*\(2, 3\)", lambda: m.scatter_reduce(1, bg.zeros(1, 4, dtype=bg.int64),
                                                                                   m, "sum")),
        (bg.ShapeError, ValueError, r"\(3, 2\)", lambda: m.index_copy(1, i, bg.ones(3, 2))),
        (bg.ShapeError, ValueError, r"\(1, 3\)", lambda: m.index_copy(0, i, bg.ones(1, 3))),
        (bg.DTypeError, TypeError, "index", lambda: m.index_fill(0, v, 1.0)),
        (bg.ShapeError, ValueError, r"\(2,\)", lambda: m.index_fill(0, i, bg.ones(2))),
        (bg.ShapeError, ValueError, r"\(2,\).*\(2, 3\)", lambda: m.index_put((i,), bg.ones(2))),
        (bg.DTypeError, TypeError, "bool mask", lambda: m.masked_scatter(i, v)),
        (bg.ShapeError, ValueError, r"\(2,\).*\(2, 3\)", lambda: m.masked_scatter(bg.ones(2, dtype=bg.bool), m)),
        (bg.ShapeError, ValueError, r"\(2, 1, 1\)", lambda: bg.ones(2, 1, 1).multinomial(1)),
        (bg.ArgumentError, ValueError, r"4 samples.*3", lambda: v.multinomial(4)),
        (bg.DTypeError, TypeError, "int64", lambda: i.multinomial(1)),
        (bg.DTypeError, TypeError, "int64", lambda: i.normal_()),
        (bg.ArgumentError, ValueError, "from", lambda: v.random_(5, 5)),
        (bg.ArgumentError, ValueError, "size", lambda: bg.normal(0.0, 1.0)),
        (bg.ShapeError, ValueError, r"\(3,\)", lambda: v.fill_diagonal_(1.0)),
        (bg.ShapeError, ValueError, r"\(2, 2, 3\)", lambda: bg.ones(2, 2, 3).fill_diagonal_(1.0)),
        (bg.ShapeError, ValueError, r"\(1, 3\).*\(3,\)", lambda: v.masked_fill_(bg.ones(1, 3, dtype=bg.bool), 0.0)),
    ]
    for kind, builtin, match, fn in cases:
        raises_baregrad(kind, builtin, match, fn)


def test_free_functions():
    x = bg.tensor([0.5, 2.0])
    for name in ("lgamma", "digamma", "erfc", "erfinv", "logcumsumexp", "quantile", "multinomial", "normal",
                 "bernoulli", "scatter_reduce", "index_put", "cov", "fmax", "nextafter"):
        assert callable(getattr(bg, name)) and name in bg.__all__, name
    assert bg.lgamma(x).tolist() == x.lgamma().tolist()
