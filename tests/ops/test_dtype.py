"""dtypes against torch, on every device: casts between every pair, promotion of tensor/tensor, tensor/scalar
and 0-d tensor operands exactly as torch, integer division and modulo, and fp16/bf16 arithmetic tolerances."""
import itertools

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare, rand

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
          "float32", "float64"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def _pair(name: str, values: np.ndarray, device: str):
    """The same values as a baregrad and a torch tensor of dtype `name` (bf16 goes through float32)."""
    tt = torch.from_numpy(values).to(getattr(torch, name))
    src = tt.float() if name == "bfloat16" else tt
    bt = bg.Tensor(src.numpy(), device=device).to(getattr(bg, name) if name != "bool" else bg.bool_)
    return bt, tt


def _assert_same(actual: bg.Tensor, expected: torch.Tensor):
    assert actual.dtype.name == str(expected.dtype).replace("torch.", ""), (actual.dtype, expected.dtype)
    wanted = expected.float() if expected.dtype == torch.bfloat16 else expected
    compare(actual.numpy(), wanted.numpy(), actual.dtype.name)


def _assert_all(pairs: list) -> None:
    """Each (baregrad, torch) result's dtype, then every value at once: the results are widened to float64 and
    concatenated, so the whole batch is one fused kernel (one compile, not one per dtype pair)."""
    for i, (actual, expected) in enumerate(pairs):
        assert actual.dtype.name == str(expected.dtype).replace("torch.", ""), (i, actual.dtype, expected.dtype)
    got = bg.cat([a.reshape(-1).double() for a, _ in pairs]).numpy()
    want = torch.cat([e.reshape(-1).double() for _, e in pairs]).numpy()
    low = [a.dtype.name for a, _ in pairs if a.dtype.name in ("float16", "bfloat16")]
    compare(got, want, "bfloat16" if "bfloat16" in low else ("float16" if low else "float32"))


# in-range for every dtype (casts of out-of-range floats to ints are undefined in C and in torch)
VALUES = np.array([0.0, 1.0, 2.75, 100.0, 127.0, 3.5, 0.0, 1.25], dtype=np.float64)


@pytest.mark.parametrize("src", DTYPES)
def test_cast_all_pairs(device, src):
    bt, tt = _pair(src, VALUES, device)
    _assert_all([(bt.to(getattr(bg, dst) if dst != "bool" else bg.bool_), tt.to(getattr(torch, dst)))
                 for dst in DTYPES])


@pytest.mark.parametrize("dst", ["int8", "int16", "int32", "int64", "float16", "bfloat16"])
def test_cast_negative_and_rounding(device, dst):
    x = np.array([-1.75, -0.5, 0.5, -100.0, 99.99, 65504.0 if dst == "float16" else 7.0, 1e-3], dtype=np.float32)
    bt, tt = _pair("float32", x, device)
    _assert_same(bt.to(getattr(bg, dst)), tt.to(getattr(torch, dst)))


def test_int_wraparound_cast(device):
    x = np.array([255, 256, -1, 1000, -129, 65535], dtype=np.int64)
    bt, tt = _pair("int64", x, device)
    _assert_all([(bt.to(getattr(bg, dst)), tt.to(getattr(torch, dst))) for dst in ("int8", "uint8", "int16",
                                                                                     "uint16")])


PROMO = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("a", PROMO)
def test_promotion_tensor_tensor(device, a):
    """a + b for every pair: result dtype and values as torch."""
    x = np.array([1.0, 2.0, 0.0, 3.0])
    ba, ta = _pair(a, x, device)
    results = []
    for b in PROMO:
        bb, tb = _pair(b, x[::-1].copy(), device)
        results += [(ba | bb, ta | tb)] if a == b == "bool" else [(ba + bb, ta + tb), (ba * bb, ta * tb)]
    _assert_all(results)


@pytest.mark.parametrize("a", PROMO)
def test_promotion_scalars_and_0d(device, a):
    """Python scalars and 0-d tensors of the same category do not widen; a higher category does."""
    x = np.array([1.0, 2.0, 0.0, 3.0])
    ba, ta = _pair(a, x, device)
    results = [(ba / 2, ta / 2)] + ([(ba - 1, ta - 1)] if a != "bool" else [])
    for s in (2, 2.5, True):
        results += [(ba + s, ta + s), (s * ba, s * ta)]
    for b in PROMO:
        bz, tz = _pair(b, np.array(1.0), device)
        results += [(ba + bz, ta + tz), (bz + ba, tz + ta)]
    _assert_all(results)


def test_truediv_of_ints_is_float(device):
    a = rand((3, 4), -9, 9, "int32", seed=1)
    b = rand((4,), 1, 5, "int64", seed=2)
    check(lambda x, y: x / y, lambda x, y: x / y, [a, b], device)
    check(lambda x, y: x.div(y, rounding_mode="trunc"), lambda x, y: x.div(y, rounding_mode="trunc"), [a, b],
          device)
    check(lambda x, y: x.div(y, rounding_mode="floor"), lambda x, y: x.div(y, rounding_mode="floor"), [a, b],
          device)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_floor_divide_remainder(device, dtype):
    lo = 0 if dtype == "uint8" else -50
    a = rand((6, 5), lo, 50, dtype, seed=1)
    b = rand((5,), 1, 9, dtype, seed=2)
    if dtype != "uint8":
        b[::2] *= -1
    check(lambda x, y: x // y, torch.floor_divide, [a, b], device)
    check(lambda x, y: x % y, torch.remainder, [a, b], device)
    check(lambda x, y: x.remainder(y), lambda x, y: x.remainder(y), [a, b], device)
    check(lambda x, y: x.fmod(y), lambda x, y: x.fmod(y), [a, b], device)


@pytest.mark.parametrize("a,b", [("int8", "uint8"), ("int16", "uint8"), ("uint8", "int32"), ("int8", "int64")])
def test_mixed_int_arithmetic_wraps_like_torch(device, a, b):
    x = np.array([100, -100, 127, 5, 0], dtype=np.int64)
    y = np.array([100, 200, 255, 3, 1], dtype=np.int64)
    ba, ta = _pair(a, x, device)
    bb, tb = _pair(b, y, device)
    fns = (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q, lambda p, q: p // q)
    _assert_all([(fn(ba, bb), fn(ta, tb)) for fn in fns] + [(ba * 3, ta * 3)])  # ba * 3 keeps a's dtype: wraps


LOW = {"float16": (1e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", ["add", "mul", "div", "exp", "sum", "matmul", "softmax", "sqrt"])
def test_low_precision(device, dtype, op):
    """fp16 / bf16 computed on the device vs torch in the same dtype, with torch's tolerances."""
    fns = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "div": lambda x, y: x / (y.abs() + 0.5),
           "exp": lambda x, y: x.exp(), "sum": lambda x, y: x.sum(1), "matmul": lambda x, y: x @ y.T,
           "softmax": lambda x, y: x.softmax(-1), "sqrt": lambda x, y: x.abs().sqrt()}
    a, b = rand((3, 8), seed=1), rand((3, 8), seed=2)
    ta, tb = (torch.from_numpy(v).to(getattr(torch, dtype)) for v in (a, b))
    ba, bb = (bg.Tensor(t.float().numpy(), device=device).to(getattr(bg, dtype)) for t in (ta, tb))
    fn = fns[op]
    expected, actual = fn(ta, tb), fn(ba, bb)
    assert actual.dtype.name == dtype
    scale = 8 if op in ("sum", "matmul") else 1
    rtol, atol = LOW[dtype]
    np.testing.assert_allclose(actual.float().numpy(), expected.float().numpy(), rtol=rtol * scale,
                               atol=atol * scale)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_low_precision_gradient(device, dtype):
    a = rand((2, 5), seed=3)
    ta = torch.from_numpy(a).to(getattr(torch, dtype)).requires_grad_()
    ba = bg.Tensor(ta.detach().float().numpy(), device=device).to(getattr(bg, dtype)).detach().requires_grad_()
    for t in ((ta * ta).tanh().sum(), (ba * ba).tanh().sum()):
        t.backward()
    assert ba.grad.dtype.name == dtype
    rtol, atol = LOW.get(dtype, (1e-7, 1e-7))
    np.testing.assert_allclose(ba.grad.float().numpy(), ta.grad.float().numpy(), rtol=rtol * 4, atol=atol * 4)


def test_float64_precision(device):
    """float64 keeps its precision (no silent float32 on the way)."""
    x = np.array([1.0 + 1e-12, 1e-300, 3.0], dtype=np.float64)
    check(lambda t: t * 3 - 2, lambda t: t * 3 - 2, [x], device, dtype="float64")
    check(lambda t: t.exp().log(), lambda t: t.exp().log(), [x[2:]], device, dtype="float64")


@pytest.mark.parametrize("a,b", list(itertools.combinations(["int8", "uint8", "int16", "float16", "bfloat16"], 2)))
def test_where_and_cat_promote(device, a, b):
    x = np.array([1.0, 2.0, 3.0])
    ba, ta = _pair(a, x, device)
    bb, tb = _pair(b, x, device)
    cond = np.array([True, False, True])
    _assert_all([(bg.where(bg.Tensor(cond, device=device), ba, bb), torch.where(torch.from_numpy(cond), ta, tb)),
                 (bg.cat([ba, bb]), torch.cat([ta, tb]))])


def test_uint_large_values(device):
    x = np.array([2**32 - 1, 2**31, 7], dtype=np.uint32)
    y = np.array([2**63 + 5, 2**64 - 1, 3], dtype=np.uint64)
    assert bg.Tensor(x, device=device).tolist() == x.tolist()
    assert bg.Tensor(y, device=device).tolist() == y.tolist()
    assert (bg.Tensor(x, device=device) + 1).tolist() == [0, 2**31 + 1, 8]
    assert (bg.Tensor(x, device=device) >> 4).tolist() == (x >> 4).tolist()
