"""nn.Parameter is a Tensor subclass, as torch.nn.Parameter: frozen ones stay Parameters through copy and pickle."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import torch

import baregrad as bg


def test_parameter_is_a_tensor_like_torchs():
    values = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ours, theirs = bg.nn.Parameter(bg.tensor(values)), torch.nn.Parameter(torch.tensor(values))
    assert isinstance(ours, bg.Tensor) == isinstance(theirs, torch.Tensor) is True
    assert ours.requires_grad == theirs.requires_grad
    assert type(ours * 2) is bg.Tensor and type(theirs * 2) is torch.Tensor  # ops give plain tensors in both
    np.testing.assert_allclose((ours * 2).numpy(), (theirs * 2).detach().numpy())


def test_frozen_parameter_survives_deepcopy_and_pickle():
    values = np.random.default_rng(1).standard_normal(5).astype(np.float32)
    frozen = bg.nn.Parameter(bg.tensor(values), requires_grad=False)
    for clone in (copy.deepcopy(frozen), pickle.loads(pickle.dumps(frozen))):
        assert isinstance(clone, bg.nn.Parameter) and not clone.requires_grad
        np.testing.assert_array_equal(clone.numpy(), values)
    plain = pickle.loads(pickle.dumps(bg.tensor(values)))
    assert type(plain) is bg.Tensor
