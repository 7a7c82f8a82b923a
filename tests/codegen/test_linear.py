"""The linearizer (baregrad/codegen/linear.py) on kernels whose loop nesting is easy to get wrong, checked by value
against torch on every device."""
import numpy as np
import torch

import baregrad as bg
from tests.helpers import compare


def _heads(x):
    return x.reshape(2, x.shape[1], 2, 4).transpose(1, 2)


def test_reduces_sharing_a_loop_with_different_outer_variables(device):
    """The weight gradient of attention scores whose keys are projected: two reduces over the same variables, one
    of which does not use an outer loop variable the other needs. The shared loop opened before that variable's
    loop and CPU/LLVM refused the kernel ("cannot linearize Op.VAR")."""
    rng = np.random.default_rng(0)
    q, k, w = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 8), (2, 4, 8), (8, 8)))
    ours = bg.Tensor(w, device=device, requires_grad=True)
    theirs = torch.tensor(w, requires_grad=True)
    (_heads(bg.Tensor(q, device=device)) @ _heads(bg.Tensor(k, device=device) @ ours.T).transpose(-2, -1)).sum() \
        .backward()
    (_heads(torch.tensor(q)) @ _heads(torch.tensor(k) @ theirs.T).transpose(-2, -1)).sum().backward()
    compare(ours.grad.numpy(), theirs.grad.numpy(), scale=10)
