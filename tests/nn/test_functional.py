"""baregrad.nn.functional against torch.nn.functional, forward and backward, on every device."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import baregrad as bg
import baregrad.nn.functional as F
from tests.helpers import check, compare

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 4, 6, 6)).astype(np.float32)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
                                {"groups": 2, "stride": (2, 1), "padding": (1, 0)}])
def test_conv2d(device, kw):
    w = randn(6, 4 // kw.get("groups", 1), 3, 3)
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), [X4, w, randn(6)],
          device, scale=10)


def test_conv1d(device):
    check(lambda x, w: F.conv1d(x, w, padding=1, stride=2), lambda x, w: TF.conv1d(x, w, padding=1, stride=2),
          [randn(2, 3, 7), randn(4, 3, 3)], device, scale=10)


@pytest.mark.parametrize("kw", [{"stride": 2, "padding": 1, "output_padding": 1}, {"groups": 2, "dilation": 2}])
def test_conv_transpose2d(device, kw):
    w = randn(4, 3, 3, 3)
    check(lambda x, w: F.conv_transpose2d(x, w, **kw), lambda x, w: TF.conv_transpose2d(x, w, **kw),
          [X4[:, :, :4, :4], w], device, scale=10)


def test_linear(device):
    check(F.linear, TF.linear, [randn(3, 5), randn(4, 5), randn(4)], device, scale=10)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 3, "stride": 2, "ceil_mode": True}, {"kernel_size": 2, "dilation": 2}])
def test_max_pool2d(device, kw):
    check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [X4], device)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False}])
def test_avg_pool2d(device, kw):
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [X4], device)


@pytest.mark.parametrize("size", [(3, 2), (4, 5)])
def test_adaptive_avg_pool2d(device, size):
    check(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [X4], device)


def test_layer_group_rms_norm(device):
    x, w, b = randn(3, 4, 5), randn(5), randn(5)
    check(lambda x, w, b: F.layer_norm(x, (5,), w, b), lambda x, w, b: TF.layer_norm(x, (5,), w, b), [x, w, b],
          device, scale=10)
    check(lambda x, w: F.rms_norm(x, (5,), w), lambda x, w: TF.rms_norm(x, (5,), w), [x, w], device, scale=10)
    check(lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b),
          [X4, randn(4), randn(4)], device, scale=10)


def test_batch_norm_training_updates_running_stats(device):
    x, w, b = randn(4, 3, 5), randn(3), randn(3)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    brm, brv = bg.Tensor(rm, device=device), bg.Tensor(rv, device=device)
    check(lambda x, w, b: F.batch_norm(x, brm, brv, w, b, training=True, momentum=0.3),
          lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training=True, momentum=0.3), [x, w, b], device, scale=10)
    compare(brm.numpy(), trm.numpy(), what="running_mean")
    compare(brv.numpy(), trv.numpy(), what="running_var")
    check(lambda x: F.batch_norm(x, brm, brv, training=False), lambda x: TF.batch_norm(x, trm, trv, training=False),
          [x], device)


@pytest.mark.parametrize("mode", ["causal", "bool", "float"])
def test_sdpa(device, mode):
    q, k, v = randn(2, 2, 4, 3), randn(2, 2, 5, 3), randn(2, 2, 5, 3)
    if mode == "causal":
        kw_bg = kw_t = {"is_causal": True}
        q = q[:, :, :4]
        k, v = k[:, :, :4], v[:, :, :4]
    else:
        mask = RNG.random((4, 5)) > 0.3 if mode == "bool" else randn(4, 5)
        mask[:, 0] = True if mode == "bool" else mask[:, 0]
        kw_bg, kw_t = {"attn_mask": bg.Tensor(mask, device=device)}, {"attn_mask": torch.tensor(mask)}
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw_bg),
          lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **kw_t), [q, k, v], device, scale=10)


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"ignore_index": 1, "reduction": "sum"},
                                {"reduction": "none"}, {"weighted": True, "label_smoothing": 0.2, "ignore_index": 2}])
def test_cross_entropy(device, kw):
    kw = dict(kw)
    x, target = randn(6, 4), RNG.integers(0, 4, 6).astype(np.int64)
    inputs = [x, target]
    if kw.pop("weighted", False):
        w = np.abs(randn(4)) + 0.5
        kw_bg, kw_t = {**kw, "weight": bg.Tensor(w, device=device)}, {**kw, "weight": torch.tensor(w)}
        check(lambda x, t: F.cross_entropy(x, t, **kw_bg), lambda x, t: TF.cross_entropy(x, t, **kw_t), inputs,
              device, scale=10)
        return
    check(lambda x, t: F.cross_entropy(x, t, **kw), lambda x, t: TF.cross_entropy(x, t, **kw), inputs, device,
          scale=10)


def test_cross_entropy_spatial_and_probs(device):
    x, t = randn(2, 3, 4), RNG.integers(0, 3, (2, 4)).astype(np.int64)
    check(F.cross_entropy, TF.cross_entropy, [x, t], device, scale=10)
    probs = torch.softmax(torch.tensor(randn(5, 3)), -1).numpy()
    check(lambda x: F.cross_entropy(x, bg.Tensor(probs, device=device), label_smoothing=0.1),
          lambda x: TF.cross_entropy(x, torch.tensor(probs), label_smoothing=0.1), [randn(5, 3)], device, scale=10)


def test_nll_mse_l1(device):
    x, t = randn(5, 3), RNG.integers(0, 3, 5).astype(np.int64)
    check(lambda x, t: F.nll_loss(x.log_softmax(-1), t), lambda x, t: TF.nll_loss(x.log_softmax(-1), t), [x, t],
          device, scale=10)
    check(F.mse_loss, TF.mse_loss, [randn(4, 3), randn(4, 3)], device, scale=10)
    check(lambda a, b: F.l1_loss(a, b, reduction="sum"), lambda a, b: TF.l1_loss(a, b, reduction="sum"),
          [randn(4, 3), randn(4, 3)], device, scale=10)


def test_bce(device):
    p, t = 1 / (1 + np.exp(-randn(4, 3))), RNG.random((4, 3)).astype(np.float32)
    check(lambda p: F.binary_cross_entropy(p, bg.Tensor(t, device=device)),
          lambda p: TF.binary_cross_entropy(p, torch.tensor(t)), [p.astype(np.float32)], device, scale=10)
    pw = np.abs(randn(3)) + 0.5
    check(lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=bg.Tensor(pw, device=device)),
          lambda x, t: TF.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(pw)), [randn(4, 3) * 5, t],
          device, scale=10)


@pytest.mark.parametrize("kw", [{"scale_factor": 2, "mode": "nearest"}, {"size": (5, 3), "mode": "nearest"},
                                {"size": (5, 7), "mode": "bilinear", "align_corners": False},
                                {"size": (3, 8), "mode": "bilinear", "align_corners": True}])
def test_interpolate(device, kw):
    check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [X4[:1, :2, :4, :5]], device)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(device, mode):
    check(lambda x: F.pad(x, (2, 1, 1, 2), mode), lambda x: TF.pad(x, (2, 1, 1, 2), mode), [X4[:1, :2, :4, :5]],
          device)


@pytest.mark.parametrize("name", ["relu", "silu", "hardswish", "elu", "softmax", "log_softmax", "gelu", "gelu_tanh",
                                  "leaky_relu"])
def test_activations(device, name):
    fns = {"gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
           "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
           "softmax": (lambda x: F.softmax(x, 1), lambda x: TF.softmax(x, 1)),
           "log_softmax": (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0))}
    ours, theirs = fns[name] if name in fns else (getattr(F, name), getattr(TF, name))
    check(ours, theirs, [randn(3, 5) * 3], device)


def test_embedding_and_one_hot(device):
    idx = np.array([[0, 3, 1], [3, 3, 2]], np.int64)
    check(lambda i, w: F.embedding(i, w, padding_idx=3), lambda i, w: TF.embedding(i, w, padding_idx=3),
          [idx, randn(5, 4)], device)
    out = F.one_hot(bg.Tensor(idx, device=device), 6).numpy()
    compare(out, TF.one_hot(torch.tensor(idx), 6).numpy())


def test_dropout(device):
    x = bg.ones(200, 50, device=device)
    y = F.dropout(x, 0.25).numpy()
    assert set(np.unique(y).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs((y == 0).mean() - 0.25) < 0.03
    assert F.dropout(x, 0.25, training=False) is x
    xg = bg.ones(4, 4, device=device, requires_grad=True)
    mask = F.dropout(xg, 0.5)
    mask.sum().backward()
    compare(xg.grad.numpy(), mask.detach().numpy(), what="dropout gradient is the scaled mask")
