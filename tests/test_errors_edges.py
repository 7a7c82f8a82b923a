"""Edge cases of bad input to the Tensor API, mostly indexing: host-known bad indices raise baregrad errors at the
call site with the shapes in the message; index values that live on the device never read or write another
element (an out-of-range one reads zero and writes nowhere). Fast, and run on every device under test."""
import numpy as np

import baregrad as bg
from tests.helpers import raises_baregrad


def _grid(device):
    """A realized 2x3 buffer [[0, 1, 2], [3, 4, 5]]: reads from it are real loads."""
    return bg.tensor([[0., 1., 2.], [3., 4., 5.]], device=device).realize()


def test_bool_mask_must_match_the_indexed_dims(device):
    a = _grid(device)
    mask = bg.tensor([True, False, True], device=device)
    raises_baregrad(bg.BoundsError, IndexError, r"mask of shape \(3,\).*\(2, 3\)", lambda: a[mask])
    raises_baregrad(bg.BoundsError, IndexError, r"\(3, 2\).*\(2, 3\)", lambda: a[(a > 2).T])
    raises_baregrad(bg.BoundsError, IndexError, r"\(2,\).*dims 1.*\(2, 3\)", lambda: a[:, [True, False]])

    def assign():
        a[bg.tensor([True, False, True], device=device)] = 9.0
    raises_baregrad(bg.BoundsError, IndexError, r"\(3,\).*\(2, 3\)", assign)
    assert a[a > 2].numpy().tolist() == [3., 4., 5.]


def test_zero_dim_bool_index_adds_a_dim(device):
    a = _grid(device)
    assert a[bg.tensor(True, device=device)].shape == (1, 2, 3)
    assert a[bg.tensor(False, device=device)].shape == (0, 2, 3)
    assert a[0, True].shape == (1, 3)  # a Python bool uses no dim of the tensor


def test_list_index_out_of_range_raises_at_call_site(device):
    """A Python list's values are on the host, so they are checked like an int (torch raises IndexError)."""
    a = _grid(device)
    raises_baregrad(bg.BoundsError, IndexError, r"index 5 .* dimension 0 with size 2.*\(2, 3\)", lambda: a[[0, 5]])
    raises_baregrad(bg.BoundsError, IndexError, r"index 7 .* dimension 1 with size 3", lambda: a[:, [7]])
    raises_baregrad(bg.BoundsError, IndexError, r"index -3 .* dimension 0 with size 2", lambda: a[[[0], [-3]]])
    raises_baregrad(bg.DTypeError, TypeError, r"float", lambda: a[[1.5]])

    def assign():
        a[[0, 5]] = 1.0
    raises_baregrad(bg.BoundsError, IndexError, r"index 5 .* size 2", assign)
    assert a[[-2, 1], [-1, 0]].numpy().tolist() == [2., 3.]


def test_device_index_out_of_range_reads_zero_never_another_element(device):
    a = _grid(device)
    # per-dim checks: (1, -4) used to wrap into the flat index and read a[0, 2]; a 2**32 + 1 index into a[.., 1]
    rows, cols = bg.tensor([0, 1], device=device), bg.tensor([1, -4], device=device)
    assert a[rows, cols].numpy().tolist() == [1., 0.]
    assert a[bg.tensor([0, 2, -3], device=device)].numpy().tolist() == [[0., 1., 2.], [0., 0., 0.], [0., 0., 0.]]
    # a lazy (never loaded) source too: arange's values used to be computed at the wrapped index
    lazy = bg.arange(6., device=device).reshape(2, 3)
    assert lazy[bg.tensor([1, 5], device=device)].numpy().tolist() == [[3., 4., 5.], [0., 0., 0.]]
    if device != "WEBGPU":  # WGSL computes int64 in 32 bits (render/wgsl.py)
        big = bg.tensor([2**32 + 1], device=device)
        assert a[0, big].numpy().tolist() == [0.]


def test_setitem_with_device_index_out_of_range_writes_nothing(device):
    a = _grid(device)
    a[bg.tensor([5, -3], device=device)] = 9.0
    assert a.numpy().tolist() == [[0., 1., 2.], [3., 4., 5.]]
    a[bg.tensor([0, 1], device=device), bg.tensor([0, -4], device=device)] = 9.0
    assert a.numpy().tolist() == [[9., 1., 2.], [3., 4., 5.]]


def test_bad_slices(device):
    a = _grid(device)
    raises_baregrad(bg.ShapeError, ValueError, r"step cannot be zero.*\(2, 3\)", lambda: a[::0])
    raises_baregrad(bg.DTypeError, TypeError, r"slice.*\(2, 3\)", lambda: a[:, 1.5:])

    def assign():
        a[:, ::0] = 1.0
    raises_baregrad(bg.ShapeError, ValueError, r"step cannot be zero", assign)


def test_setitem_values(device):
    a = _grid(device)
    raises_baregrad(bg.DTypeError, TypeError, r"str.*\(2, 3\)", lambda: a.__setitem__(0, "x"))
    raises_baregrad(bg.DTypeError, TypeError, r"NoneType", lambda: a.__setitem__(0, None))
    a[0] = [7, 8, 9]
    a[bg.tensor([1], device=device)] = np.array([6., 6., 6.], dtype=np.float32)
    assert a.numpy().tolist() == [[7., 8., 9.], [6., 6., 6.]]


def test_bad_split_chunk_flatten_diff_arguments(device):
    a = _grid(device)
    raises_baregrad(bg.ArgumentError, ValueError, r"split.*0.*\(2, 3\)", lambda: a.split(0, 1))
    raises_baregrad(bg.ArgumentError, ValueError, r"chunk.*0.*\(2, 3\)", lambda: a.chunk(0, 1))
    raises_baregrad(bg.ArgumentError, ValueError, r"chunk.*-2", lambda: a.chunk(-2, 1))
    raises_baregrad(bg.ShapeError, ValueError, r"start_dim 1 .* end_dim 0 .*\(2, 3\)", lambda: a.flatten(1, 0))
    raises_baregrad(bg.ArgumentError, ValueError, r"diff.*-1", lambda: a.diff(n=-1))


def test_backward_gradient_must_be_a_tensor(device):
    x = bg.ones(3, device=device, requires_grad=True)
    raises_baregrad(bg.DTypeError, TypeError, r"gradient.*list", lambda: (x * 2).backward([1., 1., 1.]))


def test_shape_arguments_must_be_integers(device):
    raises_baregrad(bg.ShapeError, ValueError, r"integers.*2\.5", lambda: bg.zeros(2.5, device=device))
    raises_baregrad(bg.ShapeError, ValueError, r"integers.*'3'", lambda: bg.ones("3", device=device))
    assert bg.zeros(np.int64(2), 3, device=device).shape == (2, 3)


def test_reducing_a_dim_too_long_for_32_bit_loops_raises_at_call_site(device):
    """These used to fail to compile (C: a loop bound of 2**31) or hang; shapes this large are only virtual."""
    raises_baregrad(bg.ShapeError, ValueError, r"2147483648", lambda: bg.zeros(1, device=device).expand(2**31).sum())
    huge = bg.zeros(3, device=device).expand(2**40, 3)
    raises_baregrad(bg.ShapeError, ValueError, r"\(1099511627776, 3\)", lambda: huge.max())
    assert bg.zeros(3, device=device).expand(2**20, 3).sum(1).shape == (2**20,)  # only reduced dims are limited
