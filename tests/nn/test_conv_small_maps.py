"""Convolutions on small maps (7x7, 9x9, 12x12: rows that are not a whole number of SIMD vectors), which the CPU
tiles along output channels (weights read channels-last, results stored strided into NCHW) or with narrower
vectors: forward and backward against torch on every device, with the shapes that choose those paths and their
neighbours (channel counts that are not multiples of 16, strides, padding, dilation, groups, fused epilogues)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
import baregrad.optim as optim
from tests.helpers import check, compare

RNG = np.random.default_rng(7)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# (input (N, C, H, W), weight (cout, cin / groups, k, k), conv keywords)
CASES = {
    "1x1 19->32 7x7": ((1, 19, 7, 7), (32, 19, 1, 1), {}),
    "3x3 5->48 7x7 pad": ((1, 5, 7, 7), (48, 5, 3, 3), {"padding": 1}),
    "3x3 3->32 9x9 stride 2": ((2, 3, 9, 9), (32, 3, 3, 3), {"stride": 2, "padding": 1}),
    "3x3 4->32 7x7 dilation 2": ((1, 4, 7, 7), (32, 4, 3, 3), {"padding": 2, "dilation": 2}),
    "1x1 7->24 7x7 (24 channels)": ((1, 7, 7, 7), (24, 7, 1, 1), {}),
    "3x3 6->32 groups 2": ((1, 6, 7, 7), (32, 3, 3, 3), {"padding": 1, "groups": 2}),
    "depthwise 24 12x12": ((1, 24, 12, 12), (24, 1, 3, 3), {"padding": 1, "groups": 24}),
    "depthwise 16 9x9 stride 2": ((1, 16, 9, 9), (16, 1, 3, 3), {"padding": 1, "stride": 2, "groups": 16}),
    # unpadded: rows of 8 outputs are 8-lane vectors whose window loads are stride 2 (two loads and a shuffle)
    "depthwise 8 17x17 stride 2": ((2, 8, 17, 17), (8, 1, 3, 3), {"stride": 2, "groups": 8}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_small_map(device, case):
    x_shape, w_shape, kw = CASES[case]
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
          [randn(*x_shape), randn(*w_shape), randn(w_shape[0])], device, scale=10)


def test_conv_with_batchnorm_residual_and_relu(device):
    """The tile's epilogue reads per-channel scales (contiguous along the channel vectors) and a residual in NCHW
    (strided along them)."""
    x, w, res = randn(1, 32, 7, 7), randn(32, 32, 3, 3), randn(1, 32, 7, 7)
    scale, shift = randn(32), randn(32)

    def block(lib, fn, x, w, res, scale, shift):
        y = fn.conv2d(x, w, None, 1, 1) * scale.reshape(1, 32, 1, 1) + shift.reshape(1, 32, 1, 1)
        return lib.relu(y + res)
    check(lambda *a: block(bg, F, *a), lambda *a: block(torch, TF, *a), [x, w, res, scale, shift], device, scale=10)


def test_conv_weight_copy_follows_optimizer_steps(device):
    """The channels-last copy of a weight is redone after the optimizer writes the weight."""
    conv = nn.Conv2d(8, 32, 3, padding=1, bias=False).to(device)
    opt = optim.SGD(conv.parameters(), lr=0.5)
    x_np = randn(1, 8, 7, 7)
    x = bg.Tensor(x_np, device=device)
    for _ in range(2):
        expected = TF.conv2d(torch.from_numpy(x_np), torch.from_numpy(conv.weight.numpy()), padding=1).numpy()
        out = conv(x)
        compare(out.numpy(), expected, scale=10, what="forward")
        opt.zero_grad()
        out.square().sum().backward()
        opt.step()


def test_jitted_conv_training_step_matches_plain(device):
    """Under the JIT the channels-last copy is part of the captured step, so replays see the optimizer's writes."""
    x_np = randn(1, 8, 7, 7)

    def run(jit: bool) -> list:
        bg.manual_seed(3)
        conv = nn.Conv2d(8, 32, 3, padding=1, bias=False).to(device)
        opt = optim.SGD(conv.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = conv(x).square().mean()
            loss.backward()
            opt.step()
            return loss
        fn = bg.jit(step) if jit else step
        losses = []
        for i in range(4):
            if i == 1:  # a plain forward between the JIT's first call and its capture: the cached copy is current
                conv(bg.Tensor(x_np, device=device)).realize()
            losses.append(float(fn(bg.Tensor(x_np, device=device)).numpy()))
        return losses
    np.testing.assert_allclose(run(True), run(False), rtol=1e-5)
