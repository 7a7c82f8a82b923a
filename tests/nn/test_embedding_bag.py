"""torch.nn parity for EmbeddingBag and F.embedding_bag: each mode with offsets (an empty bag included) or 2-D input,
padding_idx, per_sample_weights, include_last_offset, max_norm and scale_grad_by_freq, forward and backward."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import compare, raises_baregrad

RNG = np.random.default_rng(3)
ROWS, DIM = 7, 3
# bags [1, 2, 2], [], [6, 0, 3], [3, 4]: an empty bag and an index twice in a bag (a tie for max)
INDEX = np.array([1, 2, 2, 6, 0, 3, 3, 4], np.int64)
OFFSETS = np.array([0, 3, 3, 6], np.int64)


def run_pair(device, index, offsets=None, per_sample_weights=None, **kw):
    """torch's EmbeddingBag and ours with the same weight; forward, weight and per_sample_weights gradients."""
    torch.manual_seed(0)
    theirs = torch.nn.EmbeddingBag(ROWS, DIM, **kw)
    ours = nn.EmbeddingBag(ROWS, DIM, **kw)
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    t_args = [torch.tensor(index), None if offsets is None else torch.tensor(offsets)]
    b_args = [bg.Tensor(index, device=device), None if offsets is None else bg.Tensor(offsets, device=device)]
    t_psw = b_psw = None
    if per_sample_weights is not None:
        t_psw = torch.tensor(per_sample_weights, requires_grad=True)
        b_psw = bg.Tensor(per_sample_weights, device=device, requires_grad=True)
    expected, actual = theirs(*t_args, per_sample_weights=t_psw), ours(*b_args, per_sample_weights=b_psw)
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="forward")
    compare(ours.weight.numpy(), theirs.weight.detach().numpy(), what="weight after the forward (max_norm)")
    w = RNG.standard_normal(expected.shape).astype(np.float32)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    compare(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), scale=10, what="weight grad")
    if per_sample_weights is not None:
        compare(b_psw.grad.numpy(), t_psw.grad.numpy(), scale=10, what="per_sample_weights grad")


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_offsets_and_padding(device, mode):
    run_pair(device, INDEX, OFFSETS, mode=mode)
    run_pair(device, INDEX, OFFSETS, mode=mode, padding_idx=3)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_2d_input(device, mode):
    run_pair(device, INDEX.reshape(2, 4), mode=mode, padding_idx=-1)


def test_per_sample_weights(device):
    psw = RNG.standard_normal(INDEX.shape).astype(np.float32)
    run_pair(device, INDEX, OFFSETS, psw, mode="sum", padding_idx=6)
    run_pair(device, INDEX.reshape(4, 2), None, psw.reshape(4, 2), mode="sum")


def test_include_last_offset(device):
    """offsets end with the input's length (CSR style); bags = len(offsets) - 1."""
    run_pair(device, INDEX, np.array([0, 3, 3, 6, 8]), mode="mean", include_last_offset=True)
    run_pair(device, INDEX, np.array([0, 2, 8]), mode="max", include_last_offset=True)


def test_max_norm(device):
    """The rows the input uses are renormalized in place (the unused ones are not), as torch's embedding_renorm_."""
    run_pair(device, INDEX, OFFSETS, mode="sum", max_norm=1.0)
    run_pair(device, INDEX.reshape(2, 4), mode="mean", max_norm=0.8, norm_type=1.0)


def test_scale_grad_by_freq(device):
    # repeats only of the largest index: torch's CPU kernel divides by the count of the i-th smallest index
    # rather than of the index itself, which is the same number only there
    run_pair(device, np.array([0, 5, 1, 5, 5, 2]), np.array([0, 2]), mode="sum", scale_grad_by_freq=True)
    run_pair(device, np.array([[0, 5], [5, 1]]), mode="mean", scale_grad_by_freq=True)


def test_scale_grad_by_freq_follows_embedding(device):
    """In general: each gradient divided by its index's count in the batch, as F.embedding(scale_grad_by_freq)."""
    weight = RNG.standard_normal((ROWS, DIM)).astype(np.float32)
    index = INDEX.reshape(2, 4)
    t_weight = torch.tensor(weight, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(index), t_weight, scale_grad_by_freq=True).mean(1).sum().backward()
    b_weight = bg.Tensor(weight, device=device, requires_grad=True)
    F.embedding_bag(bg.Tensor(index, device=device), b_weight, scale_grad_by_freq=True).sum().backward()
    compare(b_weight.grad.numpy(), t_weight.grad.numpy(), what="weight grad")


def test_functional_matches_torch(device):
    weight = RNG.standard_normal((ROWS, DIM)).astype(np.float32)
    expected = torch.nn.functional.embedding_bag(torch.tensor(INDEX), torch.tensor(weight), torch.tensor(OFFSETS),
                                                 mode="max", padding_idx=-7)
    actual = F.embedding_bag(bg.Tensor(INDEX, device=device), bg.Tensor(weight, device=device),
                             bg.Tensor(OFFSETS, device=device), mode="max", padding_idx=-7)
    compare(actual.numpy(), expected.numpy(), what="forward")


def test_module_state_and_construction():
    torch.manual_seed(0)
    theirs = torch.nn.EmbeddingBag(ROWS, DIM, padding_idx=2)
    ours = nn.EmbeddingBag(ROWS, DIM, padding_idx=2)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.weight.shape == (ROWS, DIM) and ours.mode == "mean"
    np.testing.assert_array_equal(ours.weight.numpy()[2], np.zeros(DIM, np.float32))
    assert ours.padding_idx == 2 and nn.EmbeddingBag(ROWS, DIM, padding_idx=-1).padding_idx == ROWS - 1
    pretrained = nn.EmbeddingBag.from_pretrained(bg.Tensor(np.eye(3, dtype=np.float32)), mode="sum")
    assert not pretrained.weight.requires_grad and pretrained.mode == "sum"
    out = pretrained(bg.Tensor(np.array([[0, 2]])))
    np.testing.assert_array_equal(out.numpy(), [[1.0, 0.0, 1.0]])
    assert repr(ours) == "EmbeddingBag(7, 3, mode='mean', padding_idx=2)" == repr(theirs)


def test_errors():
    bag = nn.EmbeddingBag(ROWS, DIM, mode="mean")
    index, offsets = bg.Tensor(INDEX), bg.Tensor(OFFSETS)
    psw = bg.Tensor(np.ones(INDEX.shape, np.float32))
    raises_baregrad(bg.ArgumentError, ValueError, "only supported for mode='sum'",
                    lambda: bag(index, offsets, per_sample_weights=psw))
    raises_baregrad(bg.ShapeError, ValueError, "same shape as the input",
                    lambda: nn.EmbeddingBag(ROWS, DIM, mode="sum")(index, offsets, per_sample_weights=psw[:3]))
    raises_baregrad(bg.ArgumentError, ValueError, "offsets has to be None",
                    lambda: bag(index.reshape(2, 4), offsets))
    raises_baregrad(bg.ShapeError, ValueError, "offsets has to be a 1D Tensor", lambda: bag(index))
    raises_baregrad(bg.ShapeError, ValueError, "1D or 2D", lambda: bag(index.reshape(2, 2, 2)))
    raises_baregrad(bg.ArgumentError, ValueError, "mode has to be one of",
                    lambda: nn.EmbeddingBag(ROWS, DIM, mode="min")(index, offsets))
    raises_baregrad(bg.ArgumentError, ValueError, "max mode does not support",
                    lambda: nn.EmbeddingBag(ROWS, DIM, mode="max", scale_grad_by_freq=True)(index, offsets))
    raises_baregrad(bg.ArgumentError, ValueError, "within num_embeddings", lambda: nn.EmbeddingBag(3, 2,
                                                                                                   padding_idx=3))
    raises_baregrad(bg.ArgumentError, ValueError, "integer", lambda: bag(bg.Tensor(INDEX.astype(np.float32)),
                                                                         offsets))
