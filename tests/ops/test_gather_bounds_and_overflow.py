"""Two edges of values the user hands in. A gathered index out of range reads zero whatever the source is -- a
real buffer, or a value computed in the kernel (arange, a constant, an expand, arithmetic on a load, an empty
dim) -- and int64 index values are range-checked before they are narrowed to 32-bit kernel indices. A Python
number that an integer dtype cannot hold raises a baregrad error where torch raises (tensor data, full and its
family, setitem, an operand beyond 64 bits) and wraps where torch wraps (`int32_tensor + 2**40`). Fast, on
every device under test."""
import numpy as np
import pytest

import baregrad as bg

WEBGPU_INT64 = "WGSL computes int64 in 32 bits (render/wgsl.py)"


def _overflows(fn, *words: str) -> None:
    with pytest.raises(bg.DTypeError) as info:
        fn()
    assert isinstance(info.value, bg.Error) and isinstance(info.value, TypeError)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


# ---- gather: out of range reads zero, never a computed value ----

def test_gather_from_a_computed_source_reads_zero_out_of_range(device):
    idx = bg.tensor([[0, -4], [1, 2]], device=device)
    assert bg.arange(6., device=device).reshape(2, 3).gather(1, idx).numpy().tolist() == [[0., 0.], [4., 5.]]
    assert bg.full((2, 3), 7., device=device).gather(1, idx).numpy().tolist() == [[7., 0.], [7., 7.]]
    row = bg.tensor([[1., 2., 3.]], device=device).realize().expand(2, 3)  # an expand of a load
    assert row.gather(1, bg.tensor([[3], [-1]], device=device)).numpy().tolist() == [[0.], [3.]]
    shifted = bg.tensor([[1., 2., 3.]], device=device).realize() + 10  # arithmetic on a masked load
    assert shifted.gather(1, bg.tensor([[5, 1]], device=device)).numpy().tolist() == [[0., 12.]]


def test_gather_from_an_empty_dim_reads_zero(device):
    zeros = bg.zeros(1, 3, dtype=bg.int64, device=device)
    assert bg.ones(0, 3, device=device).gather(0, zeros).numpy().tolist() == [[0., 0., 0.]]
    assert bg.ones(0, 3, device=device).index_select(0, bg.tensor([0], device=device)).numpy().tolist() \
        == [[0., 0., 0.]]


def test_gather_index_is_range_checked_before_narrowing(device):
    if device == "WEBGPU":
        pytest.skip(WEBGPU_INT64)
    grid = bg.tensor([[0., 1., 2.], [3., 4., 5.]], device=device).realize()
    big = bg.tensor([[2**32 + 1, -2**32 + 1]], device=device)  # narrowed to int32 these are 1 and 1
    assert grid.gather(1, big).numpy().tolist() == [[0., 0.]]
    assert bg.arange(3., device=device).reshape(1, 3).gather(1, big).numpy().tolist() == [[0., 0.]]
    assert grid.index_select(1, bg.tensor([2**32 + 2, 2], device=device)).numpy().tolist() == [[0., 2.], [0., 5.]]


def test_gather_with_uint32_index_beyond_int32(device):
    """uint32 2**32 - 1 narrowed to int32 is -1, which would count from the end."""
    grid = bg.tensor([[0., 1., 2.]], device=device).realize()
    idx = bg.tensor([[2**32 - 1, 1]], dtype=bg.uint32, device=device)
    assert grid.gather(1, idx).numpy().tolist() == [[0., 1.]]


# ---- Python numbers an integer dtype cannot hold ----

def test_tensor_data_out_of_dtype_range_raises(device):
    _overflows(lambda: bg.tensor([2**40], dtype=bg.int32, device=device), "1099511627776", "int32")
    _overflows(lambda: bg.tensor(2**40, dtype=bg.int32, device=device), "int32")
    _overflows(lambda: bg.tensor([1, 300], dtype=bg.int8, device=device), "300", "int8")
    _overflows(lambda: bg.tensor([256], dtype=bg.uint8, device=device), "uint8")
    _overflows(lambda: bg.tensor([2.5e20], dtype=bg.int32, device=device), "int32")
    _overflows(lambda: bg.tensor([2**70], device=device), str(2**70), "int64")
    _overflows(lambda: bg.tensor([[1], [2**63]], device=device), "int64")
    # what torch accepts: negative values wrap into unsigned types down to -max, the extremes of each type
    assert bg.tensor([-1, -255], dtype=bg.uint8, device=device).numpy().tolist() == [255, 1]
    assert bg.tensor([-2**31, 2**31 - 1], dtype=bg.int32, device=device).numpy().tolist() == [-2**31, 2**31 - 1]
    assert bg.tensor([2**40], dtype=bg.bool, device=device).numpy().tolist() == [True]
    assert bg.tensor(np.array([2**40]), dtype=bg.int32, device=device).numpy().tolist() == [0]  # as torch


def test_full_and_fill_values_out_of_dtype_range_raise(device):
    _overflows(lambda: bg.full((2,), 2**40, dtype=bg.int32, device=device), "1099511627776", "int32")
    _overflows(lambda: bg.full((2,), -129, dtype=bg.int8, device=device), "-129", "int8")
    _overflows(lambda: bg.full((2,), float("nan"), dtype=bg.int32, device=device), "nan", "int32")
    x = bg.zeros(2, dtype=bg.int16, device=device)
    _overflows(lambda: x.full_like(2**15), "32768", "int16")
    _overflows(lambda: bg.full_like(x, -2**15 - 1), "int16")
    _overflows(lambda: x.fill_(2**20), "int16")
    assert bg.full((2,), -1, dtype=bg.uint8, device=device).numpy().tolist() == [255, 255]
    assert x.full_like(-2**15).numpy().tolist() == [-2**15, -2**15]


def test_setitem_value_out_of_dtype_range_raises(device):
    a = bg.zeros(3, dtype=bg.int32, device=device)
    for index in (0, slice(0, 2), bg.tensor([0, 2], device=device)):
        def assign():
            a[index] = 2**40
        _overflows(assign, "1099511627776", "int32")
    def assign_list():
        a[0:2] = [1, 2**31]
    _overflows(assign_list, "2147483648", "int32")
    a[1] = 2**31 - 1
    assert a.numpy().tolist() == [0, 2**31 - 1, 0]


def test_python_int_operand_wraps_like_torch_within_64_bits_and_raises_beyond(device):
    """torch wraps a Python int into an integer tensor's dtype when it fits in 64 bits, and raises beyond."""
    x = bg.zeros(3, dtype=bg.int32, device=device)
    assert (x + 2**40).numpy().tolist() == [0, 0, 0]
    assert (bg.zeros(2, dtype=bg.int8, device=device) + 300).numpy().tolist() == [44, 44]
    assert (bg.ones(2, dtype=bg.int32, device=device) & 0xFFFFFFFF).numpy().tolist() == [1, 1]
    _overflows(lambda: x + 2**64, str(2**64), "int32")
    _overflows(lambda: 2**64 - x, "int32")
    _overflows(lambda: x < -2**63 - 1, "int32")
    _overflows(lambda: bg.zeros(2, dtype=bg.bool, device=device) * 2**70, "bool")
    assert (bg.zeros(2, device=device) + 2**64).numpy().tolist() == [2.0**64, 2.0**64]  # float: representable


def test_where_masked_fill_and_clamp_values_out_of_dtype_range_raise(device):
    """Unlike arithmetic, torch's where, masked_fill and clamp refuse a Python int the integer dtype cannot hold
    (clamp(max=2**40) on int32 used to wrap the bound to 0 and return zeros)."""
    x = bg.ones(2, dtype=bg.int32, device=device)
    _overflows(lambda: x.clamp(max=2**40), "1099511627776", "int32")
    _overflows(lambda: x.clamp(min=-2**40), "int32")
    _overflows(lambda: (x > 0).where(x, 2**40), "int32")
    _overflows(lambda: x.masked_fill(x > 0, 2**40), "int32")
    _overflows(lambda: bg.ones(2, dtype=bg.uint8, device=device).clamp(max=300), "uint8")
    assert x.clamp(max=2**31 - 1).numpy().tolist() == [1, 1]
    assert x.masked_fill(x > 0, -2**31).numpy().tolist() == [-2**31, -2**31]
    assert x.clamp(max=0.5).numpy().tolist() == [0.5, 0.5]  # a float bound promotes, as in torch
