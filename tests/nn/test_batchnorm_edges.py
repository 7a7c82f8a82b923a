"""BatchNorm edge cases against torch on every device: training with a single value per channel (a batch of
one without spatial extent) raises, as torch's "Expected more than 1 value per channel when training" does,
while eval mode, and batch statistics over two values, keep working."""
import re

import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad import nn
from tests.helpers import compare

SINGLE = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (1, 3)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (1, 3, 1)),
          (nn.BatchNorm2d, torch.nn.BatchNorm2d, (1, 3, 1, 1))]


@pytest.mark.parametrize("ours,theirs,shape", SINGLE, ids=["bn1d-2d", "bn1d-3d", "bn2d"])
def test_training_with_one_value_per_channel_raises(device, ours, theirs, shape):
    x = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        theirs(3).train()(torch.from_numpy(x))
    bn = ours(3, device=device)
    with pytest.raises(bg.ShapeError, match="more than 1 value per channel.*" + re.escape(str(shape))):
        bn(bg.Tensor(x, device=device))
    untracked = ours(3, track_running_stats=False, device=device).eval()  # eval still uses batch statistics
    with pytest.raises(bg.ShapeError, match="more than 1 value per channel"):
        untracked(bg.Tensor(x, device=device))
    bn.eval()  # running statistics: one sample is fine, as in torch
    compare(bn(bg.Tensor(x, device=device)).numpy(), theirs(3).eval()(torch.from_numpy(x)).detach().numpy())
    two = np.concatenate([x, -2 * x])  # two values per channel: batch statistics again, as in torch
    bn, tbn = ours(3, device=device), theirs(3)
    compare(bn(bg.Tensor(two, device=device)).numpy(), tbn(torch.from_numpy(two)).detach().numpy(), what="output")
    compare(bn.running_var.numpy(), tbn.running_var.numpy(), what="running_var")

