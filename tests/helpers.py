"""Shared test helpers: which devices to test on, and forward/backward comparison against torch."""
from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

import baregrad as bg
from baregrad.errors import UnsupportedDTypeError

# torch's default tolerances by dtype (rtol, atol)
TOLERANCE = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7), "float16": (1e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}


def devices_under_test() -> list[str]:
    """Devices to run the op suite on: BAREGRAD_TEST_DEVICES, else every device that works here."""
    requested = os.environ.get("BAREGRAD_TEST_DEVICES")
    if requested:
        return [d.strip().upper() for d in requested.split(",") if d.strip()]
    return [status.name for status in bg.devices() if status.works]


def skipped_devices() -> list[tuple[str, str]]:
    return [(s.name, s.reason) for s in bg.devices() if not s.works]


def to_torch(x: np.ndarray, requires_grad: bool = False):
    import torch
    t = torch.from_numpy(np.ascontiguousarray(x).reshape(np.shape(x)))  # ascontiguousarray makes 0-d arrays 1-d
    return t.requires_grad_(requires_grad) if requires_grad else t


def compare(actual: np.ndarray, expected: np.ndarray, dtype: str = "float32", scale: float = 1.0,
            what: str = "") -> None:
    rtol, atol = TOLERANCE.get(dtype, (0, 0))
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch {expected.shape}"
    if actual.dtype == np.bool_ or np.issubdtype(actual.dtype, np.integer):
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol * scale,
                               atol=atol * scale, equal_nan=True, err_msg=what)


def skip_unsupported(device: str, *dtypes: object) -> None:
    """Skip the test, printing the device's reason, when `device` declares one of `dtypes` unsupported."""
    import pytest

    from baregrad.device import get_device
    for d in dtypes:
        try:
            d = bg.dtypes.to_dtype(d)
        except bg.DTypeError:  # a numpy-only dtype name: nothing to ask the device
            continue
        reason = get_device(device).supports(d)
        if reason is not None:
            pytest.skip(f"{device} does not support {d.name}: {reason}")


def skip_special_values(device: str, *arrays: object) -> None:
    """Skip, with the device's reason, when NaN/inf are involved and the device does not keep them."""
    import pytest

    from baregrad.device import get_device
    reason = get_device(device).special_float_values
    if reason is None:
        return
    for a in arrays:
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            pytest.skip(f"{device}: {reason}")


def unsupported_dtype_reason(error: BaseException) -> str | None:
    """The device's reason when `error` is its refusal of a dtype it declared unsupported (else None)."""
    if isinstance(error, UnsupportedDTypeError):
        return str(error)
    return None


def check(bg_fn: Callable, torch_fn: Callable, inputs: Sequence[np.ndarray], device: str, grad: bool = True,
          dtype: str = "float32", scale: float = 1.0, grad_scale: float | None = None) -> None:
    """Run fn on baregrad and torch with the same inputs; compare outputs and, for float inputs, gradients."""
    skip_unsupported(device, dtype, *[np.asarray(x).dtype.name for x in inputs])
    float_inputs = [np.issubdtype(np.asarray(x).dtype, np.floating) for x in inputs]
    tt = [to_torch(x, grad and f) for x, f in zip(inputs, float_inputs)]
    bt = [bg.Tensor(x, device=device, requires_grad=grad and f) for x, f in zip(inputs, float_inputs)]
    skip_special_values(device, *inputs)
    expected = torch_fn(*tt)
    skip_special_values(device, expected.detach().numpy())
    actual = bg_fn(*bt)
    compare(actual.numpy(), expected.detach().numpy(), dtype, scale, "forward")
    if not grad or not any(float_inputs) or not expected.requires_grad:
        return
    weights = np.random.default_rng(0).standard_normal(expected.shape).astype(expected.detach().numpy().dtype)
    (expected * to_torch(weights)).sum().backward()
    (actual * bg.Tensor(weights, device=device)).sum().backward()
    for i, (b, t) in enumerate(zip(bt, tt)):
        if t.requires_grad:
            assert b.grad is not None, f"input {i} got no gradient"
            compare(b.grad.numpy(), t.grad.numpy(), dtype, grad_scale or scale * 10, f"grad of input {i}")


# ---- op-suite helpers: hypothesis settings, shape strategies, random inputs ----
def few(n: int = 4):
    """hypothesis settings for the op suite: few, reproducible examples (every new shape compiles kernels)."""
    from hypothesis import settings
    return settings(max_examples=n, deadline=None, derandomize=True, database=None)


def shapes(max_dims: int = 3, max_side: int = 4, min_dims: int = 0, min_side: int = 0):
    """Small shapes (at most 4**3 = 64 elements by default), empty and size-1 dims included."""
    from hypothesis.extra import numpy as hnp
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcast_shapes(n: int = 2, max_dims: int = 3, max_side: int = 4):
    """n shapes that broadcast together, as a tuple of shapes."""
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=0,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def rand(shape: Sequence[int], low: float = -2.0, high: float = 2.0, dtype: str = "float32",
         seed: int | None = None) -> np.ndarray:
    """Uniform values in [low, high) (integers: [low, high) rounded down), seeded by the shape unless given."""
    rng = np.random.default_rng(hash(tuple(shape)) % 2**32 if seed is None else seed)
    values = rng.uniform(low, high, size=tuple(shape))
    if np.dtype(dtype).kind in "iub":
        return np.floor(values).astype(dtype)
    return values.astype(dtype)


def away_from_zero(shape: Sequence[int], low: float = 0.5, high: float = 2.0, seed: int | None = None) -> np.ndarray:
    """Values with |x| in [low, high) and random signs (safe denominators)."""
    mag = rand(shape, low, high, seed=seed)
    sign = np.where(rand(shape, 0, 1, seed=(seed or 0) + 7) < 0.5, -1, 1).astype(np.float32)
    return np.asarray(mag * sign, dtype=np.float32)


def check_module(ours, theirs, x: np.ndarray, device: str, rng: np.random.Generator, **call) -> None:
    """torch module `theirs`'s weights loaded into baregrad module `ours`; the forward, the input gradient and every
    parameter gradient compared (the backward seeds a random output gradient from `rng`)."""
    import torch
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    tx, bx = torch.tensor(x, requires_grad=True), bg.Tensor(x, device=device, requires_grad=True)
    expected, actual = theirs(tx, **call), ours(bx, **call)
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="forward")
    w = rng.standard_normal(expected.shape).astype(np.float32)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    compare(bx.grad.numpy(), tx.grad.numpy(), scale=100, what="input grad")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        compare(p.grad.numpy(), theirs_params[name].grad.numpy(), scale=100, what=f"grad of {name}")


def raises_baregrad(kind: type, builtin: type, match: str, fn: Callable) -> BaseException:
    """fn() must raise baregrad's `kind` matching `match`, which must also be a baregrad Error and the Python
    exception class `builtin` (ShapeError is a ValueError) so that torch-style except clauses catch it."""
    import pytest
    with pytest.raises(kind, match=match) as info:
        fn()
    assert isinstance(info.value, bg.Error) and isinstance(info.value, builtin), type(info.value).__mro__
    return info.value


def train_like_torch(bopt, topt, bsched, tsched, steps: int, seed: int, what: str) -> list[int]:
    """Step our optimizer and scheduler beside torch's with the same random gradients, compare the parameters at
    the end, and return how many kernels each of our optimizer steps compiled."""
    import torch
    rng = np.random.default_rng(seed)
    bparams = [p for g in bopt.param_groups for p in g["params"]]
    tparams = [p for g in topt.param_groups for p in g["params"]]
    compiles = []
    for _ in range(steps):
        for b, t in zip(bparams, tparams):
            g = rng.standard_normal(b.shape).astype(np.float32)
            b.grad, t.grad = bg.Tensor(g), torch.tensor(g)
        bg.counters(reset=True)
        bopt.step()
        compiles.append(bg.counters()["compiles"])
        topt.step()
        bsched.step()
        tsched.step()
    for b, t in zip(bparams, tparams):
        compare(b.numpy(), t.detach().numpy(), scale=10, what=f"params {what}")
    return compiles


def bench_module(name: str):
    """A module of bench/ (the model zoo, ...) loaded by its path: putting bench/ on sys.path would let
    bench/onnx.py shadow the onnx package for every later test."""
    import importlib.util
    import pathlib
    import sys
    qualified = f"bench_{name}"
    if qualified not in sys.modules:
        path = pathlib.Path(__file__).resolve().parent.parent / "bench" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(qualified, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
    return sys.modules[qualified]
