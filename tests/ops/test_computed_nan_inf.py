"""isnan/isinf/isfinite/isposinf/isneginf of NaN and Inf computed inside a kernel (a log of a negative number, x / 0,
0 * inf, inf - inf, ...) agree with torch on every device, WEBGPU included: WGSL compilers may assume no NaN/Inf
and fold such arithmetic away, so the WGSL renderer decides these results on the bits."""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import skip_unsupported

X = [-1.0, 0.0, 1.0, 2.0, -3.0, 1e30]  # 1e30 overflows float16 and x * x * x overflows float32
ZERO = [0.0, 0.0, 1.0, 0.0, 0.0, 1e-30]  # loaded zeros, where the compiler cannot see them

CASES = {
    "log of negatives": lambda x, z, m: x.log(),
    "log of zeros": lambda x, z, m: z.log(),
    "x / loaded 0": lambda x, z, m: x / z,
    "x / literal 0": lambda x, z, m: x / 0,
    "x / zeros()": lambda x, z, m: x / m.zeros(len(X)),
    "reciprocal of 0": lambda x, z, m: m.zeros(len(X)).reciprocal() * x,
    "0 / 0": lambda x, z, m: z / z,
    "x / x": lambda x, z, m: (x / z) / (x / z),
    "inf - inf": lambda x, z, m: (x / z) - (x / z),
    "x - x of NaN": lambda x, z, m: x.log() - x.log(),
    "0 * inf": lambda x, z, m: z * (x / z),
    "inf * literal 0": lambda x, z, m: (x / z) * 0.0,
    "NaN constant * 0": lambda x, z, m: m.full((len(X),), math.nan) * 0 + x,
    "inf constant - inf": lambda x, z, m: m.full((len(X),), math.inf) - math.inf + x,
    "sqrt of negatives": lambda x, z, m: x.sqrt(),
    "overflow": lambda x, z, m: x * x * x,
}


class OnDevice:
    """bg's zeros/full on one device, spelled like torch's."""

    def __init__(self, device: str):
        self.device = device

    def zeros(self, n: int) -> bg.Tensor:
        return bg.zeros(n, device=self.device)

    def full(self, shape: tuple[int, ...], value: float) -> bg.Tensor:
        return bg.full(shape, value, device=self.device)


def flags(t, m):
    """The five predicates packed in one integer per element, so each case is one kernel."""
    preds = (t.isnan(), t.isposinf(), t.isneginf(), t.isinf(), t.isfinite())
    return sum(p.to(m.int32 if m is torch else bg.int32) * (1 << k) for k, p in enumerate(preds))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("name", CASES)
def test_predicates_of_computed_specials_match_torch(name, dtype, device):
    skip_unsupported(device, dtype)
    fn = CASES[name]
    theirs = flags(fn(*(torch.tensor(v).to(getattr(torch, dtype)) for v in (X, ZERO)), torch).to(getattr(torch, dtype)),
                   torch)
    x, z = (bg.Tensor(np.array(v, np.float32), device=device).cast(dtype) for v in (X, ZERO))
    ours = flags(fn(x, z, OnDevice(device)).cast(dtype), bg)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=f"{name} in {dtype} on {device} "
                                  "(bit 0 isnan, 1 isposinf, 2 isneginf, 3 isinf, 4 isfinite)")
