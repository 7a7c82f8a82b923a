"""float16/bfloat16 reductions and products accumulate in float32 and round once, as torch does: long reductions
(K = 4096) of every reducing op against torch on every device, their gradients, and their kernel counts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad.nn import functional as F
from tests.helpers import compare, skip_unsupported

K = 4096  # long enough that float16 accumulation is off by far more than the tolerance (256 for 20000 * 0.1)
DTYPES = ["float16", "bfloat16"]


@dataclass(frozen=True)
class Case:
    """One op: its baregrad and torch spellings and its inputs' shapes; `signed` draws from N(0, 1), else U[0, 1)."""
    ours: Callable
    theirs: Callable
    shapes: tuple[tuple[int, ...], ...]
    signed: bool = False
    magnify: float = 1.0  # results are compared times this: softmax's ~1/K outputs would hide under the atol


CASES = {
    "sum": Case(lambda x: x.sum(-1), lambda x: x.sum(-1), ((2, K),)),
    "sum_all": Case(lambda x: x.sum(), lambda x: x.sum(), ((K,),)),
    "mean": Case(lambda x: x.mean(-1), lambda x: x.mean(-1), ((2, K),)),
    "var": Case(lambda x: x.var(-1), lambda x: x.var(-1), ((2, K),)),
    "std": Case(lambda x: x.std(-1), lambda x: x.std(-1), ((2, K),)),
    "norm": Case(lambda x: x.norm(dim=-1), lambda x: torch.linalg.vector_norm(x, dim=-1), ((2, K),)),
    "softmax": Case(lambda x: x.softmax(-1), lambda x: x.softmax(-1), ((2, K),), magnify=K),
    "log_softmax": Case(lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1), ((2, K),)),
    "logsumexp": Case(lambda x: x.logsumexp(-1), lambda x: x.logsumexp(-1), ((2, K),)),
    # the last prefixes are the long sums; slicing them keeps the masked-square cumsum from doing K * K work
    "cumsum": Case(lambda x: x.cumsum(-1)[:, -64:], lambda x: x.cumsum(-1)[:, -64:], ((2, K),)),
    "matmul": Case(lambda a, b: a @ b, lambda a, b: a @ b, ((4, K), (K, 4)), signed=True),
    "bmm": Case(lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), ((2, 3, K), (2, K, 3)), signed=True),
    "mv": Case(lambda a, b: a @ b, lambda a, b: a @ b, ((4, K), (K,)), signed=True),
    "einsum": Case(lambda a, b: bg.einsum("ik,jk->ij", a, b), lambda a, b: torch.einsum("ik,jk->ij", a, b),
                   ((4, K), (3, K)), signed=True),
    "conv2d": Case(lambda x, w: F.conv2d(x, w), lambda x, w: torch.nn.functional.conv2d(x, w),
                   ((1, 256, 5, 5), (2, 256, 4, 4)), signed=True),  # 256 * 4 * 4 = 4096 products per output
}


def torch_input(shape: tuple[int, ...], dtype: str, signed: bool, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) if signed else rng.random(shape)
    return torch.tensor(values, dtype=torch.float32).to(getattr(torch, dtype))


def ours_from(t: torch.Tensor, device: str, requires_grad: bool = False) -> bg.Tensor:
    """The same 16-bit values as a baregrad leaf (bytes through int16: numpy has no bfloat16)."""
    raw = t.detach().view(torch.int16).numpy().tobytes()
    x = bg.Tensor.from_bytes(raw, bg.dtypes.to_dtype(str(t.dtype).removeprefix("torch.")), tuple(t.shape), device)
    return x.requires_grad_(requires_grad) if requires_grad else x


def as_float(x) -> np.ndarray:
    return (x.float() if isinstance(x, bg.Tensor) else x.detach().float()).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_long_reduction_matches_torch(name, dtype, device):
    skip_unsupported(device, dtype)
    case = CASES[name]
    theirs = [torch_input(s, dtype, case.signed, seed) for seed, s in enumerate(case.shapes)]
    expected = case.theirs(*theirs)
    actual = case.ours(*[ours_from(t, device) for t in theirs])
    assert actual.dtype.name == dtype, f"{name}: {dtype} input gave a {actual.dtype.name} result"
    compare(as_float(actual) * case.magnify, as_float(expected) * case.magnify, dtype,
            what=f"{name} of {dtype} on {device}")


def test_float16_sum_of_a_tenth_is_torchs(device):
    """The issue's example: 20000 * 0.1 in float16 is 2000 (float16 accumulation stalls at 256)."""
    skip_unsupported(device, "float16")
    x = bg.Tensor(np.full(20000, 0.1, np.float16), device=device)
    t = torch.full((20000,), 0.1, dtype=torch.float16)
    assert x.sum().item() == t.sum().item() == 2000.0
    compare(as_float(x.mean()), as_float(t.mean()), "float16", what="mean")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_stay_in_the_input_dtype(dtype, device):
    skip_unsupported(device, dtype)
    ta, tb = (torch_input(s, dtype, True, seed).requires_grad_() for seed, s in enumerate([(3, K), (K, 2)]))
    a, b = ours_from(ta, device, True), ours_from(tb, device, True)
    weights = torch_input((3, 2), dtype, True, 9)
    ((ta @ tb) * weights).sum().backward()
    (ta.softmax(-1).sum(0) * tb[:, 0]).sum().backward()
    ((a @ b) * ours_from(weights, device)).sum().backward()
    (a.softmax(-1).sum(0) * b[:, 0]).sum().backward()
    for ours, theirs, what in ((a, ta, "a"), (b, tb, "b")):
        assert ours.grad.dtype.name == dtype, f"grad of {what} is {ours.grad.dtype.name}, not {dtype}"
        compare(as_float(ours.grad), as_float(theirs.grad), dtype, what=f"grad of {what}")


def kernels(fn: Callable[[], bg.Tensor]) -> int:
    bg.counters(reset=True)
    fn().realize()
    return bg.counters()["kernels"]


@pytest.mark.parametrize("name", ["sum", "mean", "softmax", "matmul", "conv2d"])
def test_half_ops_fuse_as_float32_ones(name, device):
    """The casts around a half reduction join its kernel: as many kernels as the float32 op."""
    skip_unsupported(device, "float16")
    case = CASES[name]
    counts = {}
    for dtype in ("float32", "float16"):
        inputs = [ours_from(torch_input(s, "float16", case.signed, seed), device).cast(dtype).realize()
                  for seed, s in enumerate(case.shapes)]
        counts[dtype] = kernels(lambda inputs=inputs: case.ours(*inputs))
    assert counts["float16"] == counts["float32"], counts
