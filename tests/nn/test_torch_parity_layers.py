"""torch.nn parity for layer options and Module behaviour the other nn tests leave out: padding='same' with a
padding_mode, avg_pool2d ceil_mode, frozen Parameters, Sequential slices, recurse=False, apply, clip_grad_norm_,
implicit softmax dims, loss buffers, and the smooth L1 / Huber / KL-divergence losses."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
from tests.helpers import check, check_module, compare

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_pair(ours, theirs, x, device):
    check_module(ours, theirs, x, device, RNG)


@pytest.mark.parametrize("kind", ["conv2d_reflect", "conv2d_circular_even_kernel", "conv1d_replicate_dilated"])
def test_conv_same_padding_uses_padding_mode(device, kind):
    """padding='same' with padding_mode reflect/circular/replicate pads with that mode, as torch does; it used to
    zero-pad."""
    if kind == "conv2d_reflect":
        kw, cls, x = {"kernel_size": 3, "padding_mode": "reflect"}, "Conv2d", randn(1, 2, 4, 5)
    elif kind == "conv2d_circular_even_kernel":
        kw, cls, x = {"kernel_size": 4, "padding_mode": "circular"}, "Conv2d", randn(1, 2, 4, 5)
    else:
        kw, cls, x = {"kernel_size": 3, "dilation": 2, "padding_mode": "replicate"}, "Conv1d", randn(2, 2, 7)
    run_pair(getattr(nn, cls)(2, 3, padding="same", **kw), getattr(torch.nn, cls)(2, 3, padding="same", **kw), x,
             device)


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2, "ceil_mode": True},
                                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                                {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True,
                                 "count_include_pad": False}])
def test_avg_pool2d_ceil_mode(device, kw):
    """ceil_mode's last window may hang past the padded input; torch leaves that part out of the divisor."""
    run_pair(nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw), randn(1, 2, 7, 8), device)


class _Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(bg.ones(3), requires_grad=False)
        self.lin = nn.Linear(2, 2)


def test_frozen_parameter_is_registered():
    """Parameter(..., requires_grad=False) is still a parameter: named_parameters and state_dict list it."""
    class TorchFrozen(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.full((3,), 2.0), requires_grad=False)
            self.lin = torch.nn.Linear(2, 2)

    ours, theirs = _Frozen(), TorchFrozen()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert ours.scale.tolist() == [2.0] * 3 and not ours.scale.requires_grad


def test_sequential_slice_keeps_child_names():
    """torch's Sequential[1:] keeps the keys "1", "2", so a slice loads the matching part of a checkpoint."""
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert list(ours[1:].state_dict()) == list(theirs[1:].state_dict()) == ["2.weight", "2.bias"]
    ours[1:].load_state_dict(theirs[1:].state_dict())
    compare(ours[2].weight.numpy(), theirs[2].weight.detach().numpy(), what="sliced load")


def test_parameters_recurse_and_apply():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert list(m.parameters(recurse=False)) == [] and len(list(m[0].parameters(recurse=False))) == 2
    assert [n for n, _ in m[1].named_buffers(prefix="bn", recurse=False)] == \
        [n for n, _ in t[1].named_buffers(prefix="bn", recurse=False)]
    seen, tseen = [], []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    t.apply(lambda mod: tseen.append(type(mod).__name__))
    assert seen == tseen


@pytest.mark.parametrize("norm_type", ["inf", 1.0])
def test_clip_grad_norm_norm_types(norm_type):
    """torch takes norm_type as a float or the string "inf", and a foreach flag."""
    grads = [randn(3, 2) * 3, randn(4)]
    ours = [bg.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for b, t, g in zip(ours, theirs, grads):
        b.grad, t.grad = bg.Tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, 0.5, norm_type, foreach=None)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type, foreach=None)
    compare(total.numpy(), expected.numpy(), what="total norm")
    for b, t in zip(ours, theirs):
        compare(b.grad.numpy(), t.grad.numpy(), what="clipped grad")


def test_conv_transpose2d_output_size(device):
    """forward(x, output_size=...) picks the output padding, as torch's does."""
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    ours, theirs = nn.ConvTranspose2d(2, 3, **kw), torch.nn.ConvTranspose2d(2, 3, **kw)
    ours.load_state_dict(theirs.state_dict())
    x = randn(1, 2, 4, 3)
    for size in [(8, 5), (1, 3, 7, 6)]:
        expected = theirs(torch.tensor(x), output_size=size).detach().numpy()
        compare(ours.to(device)(bg.Tensor(x, device=device), output_size=size).numpy(), expected, scale=10,
                what=f"output_size={size}")
    with pytest.raises(bg.ArgumentError):
        ours(bg.Tensor(x, device=device), output_size=(20, 20))


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 2, 2)])
def test_softmax_without_dim_uses_torchs_implicit_dim(shape):
    """Softmax with no dim softmaxes dim 0 of a 3-d input and dim 1 of a 4-d one (torch's legacy rule); it used
    to take the last dim."""
    import warnings
    x = randn(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns that the implicit dim is deprecated
        expected = torch.nn.Softmax()(torch.tensor(x)).numpy(), torch.nn.LogSoftmax()(torch.tensor(x)).numpy()
    compare(nn.Softmax()(bg.Tensor(x)).numpy(), expected[0], what="Softmax()")
    compare(nn.LogSoftmax()(bg.Tensor(x)).numpy(), expected[1], what="LogSoftmax()")
    compare(nn.functional.softmax(bg.Tensor(x)).numpy(), expected[0], what="F.softmax(x)")
    compare(nn.functional.log_softmax(bg.Tensor(x)).numpy(), expected[1], what="F.log_softmax(x)")


def test_loss_weights_are_buffers():
    """torch registers a loss's class weights (and pos_weight) as buffers: they are in state_dict."""
    w = np.array([1.0, 2.0, 3.0], np.float32)
    ours = nn.Sequential(nn.Linear(2, 3), nn.CrossEntropyLoss(weight=bg.Tensor(w)))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.CrossEntropyLoss(weight=torch.tensor(w)))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "0.bias", "1.weight"]
    ours.load_state_dict(theirs.state_dict())
    for ours_loss, theirs_loss in [(nn.BCEWithLogitsLoss(pos_weight=bg.Tensor(w)),
                                    torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w))),
                                   (nn.NLLLoss(), torch.nn.NLLLoss()),
                                   (nn.BCELoss(weight=bg.Tensor(w)), torch.nn.BCELoss(weight=torch.tensor(w)))]:
        assert list(ours_loss.state_dict()) == list(theirs_loss.state_dict())
    x, t = randn(4, 3), np.array([0, 2, 1, 2])
    compare(ours[1](bg.Tensor(x), bg.Tensor(t)).numpy(),
            theirs[1](torch.tensor(x), torch.tensor(t)).numpy(), what="weighted loss")


def test_embedding_from_pretrained():
    w = randn(5, 3)
    for kw in [{}, {"freeze": False, "padding_idx": 1}]:
        ours, theirs = nn.Embedding.from_pretrained(bg.Tensor(w), **kw), torch.nn.Embedding.from_pretrained(
            torch.tensor(w), **kw)
        assert ours.weight.requires_grad == theirs.weight.requires_grad and ours.padding_idx == theirs.padding_idx
        idx = np.array([[1, 4], [0, 1]])
        compare(ours(bg.Tensor(idx)).numpy(), theirs(torch.tensor(idx)).detach().numpy(), what=f"lookup {kw}")


def test_multihead_attention_returns_weights_after_dropout():
    """In training torch returns the attention weights after dropout (those applied to the values): some are 0 and
    the kept ones are scaled by 1 / (1 - p). In eval they are the plain softmax."""
    m = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True)
    x = bg.Tensor(randn(2, 3, 4))
    _, weights = m(x, x, x, average_attn_weights=False)
    w = weights.numpy()
    assert (w == 0).any() and np.abs(w.sum(-1) - 1).max() > 1e-3
    _, weights = m.eval()(x, x, x, average_attn_weights=False)
    compare(weights.numpy().sum(-1), np.ones((2, 2, 3), np.float32), what="eval weights sum to 1")


def test_buffer_registered_again_as_persistent_is_saved():
    ours, theirs = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    ours.register_buffer("stat", bg.zeros(2), persistent=False)
    theirs.register_buffer("stat", torch.zeros(2), persistent=False)
    ours.register_buffer("stat", bg.ones(2))
    theirs.register_buffer("stat", torch.ones(2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias", "stat"]


@pytest.mark.parametrize("reduction", ["sum", "none"])  # kl_div's "mean" makes torch warn
def test_smooth_l1_huber_kl_div(device, reduction):
    import torch.nn.functional as TF
    F = nn.functional
    a, b = randn(3, 4) * 2, randn(3, 4) * 2
    for beta in (0.5, 0.0):
        check(lambda x, y: nn.SmoothL1Loss(reduction, beta)(x, y),
              lambda x, y: TF.smooth_l1_loss(x, y, reduction=reduction, beta=beta), [a, b], device, scale=10)
    check(lambda x, y: nn.HuberLoss(reduction, 1.5)(x, y),
          lambda x, y: TF.huber_loss(x, y, reduction=reduction, delta=1.5), [a, b], device, scale=10)
    logp = torch.log_softmax(torch.tensor(a), -1).numpy()
    p = torch.softmax(torch.tensor(b), -1).numpy()
    p[0, 1] = 0.0  # a zero target adds nothing (0 log 0 = 0)
    check(lambda x: F.kl_div(x, bg.Tensor(p, device=device), reduction="batchmean"),
          lambda x: TF.kl_div(x, torch.tensor(p), reduction="batchmean"), [logp], device, scale=10)
    check(lambda x, y: nn.KLDivLoss(reduction, log_target=True)(x, y),
          lambda x, y: TF.kl_div(x, y, reduction=reduction, log_target=True), [logp, logp[::-1].copy()], device,
          scale=10)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_row_is_zero_not_nan(device, kind):
    """torch's attention gives 0 (and zero gradients) for a query whose mask leaves it nothing to attend to; it
    used to be NaN here, which poisons a loss even when that position is ignored later."""
    import torch.nn.functional as TF
    if kind == "bool":
        mask = np.ones((3, 4), bool)
        mask[1] = False
    else:
        mask = np.zeros((3, 4), np.float32)
        mask[1], mask[2, :2] = -np.inf, -np.inf
    sdpa = nn.functional.scaled_dot_product_attention
    check(lambda q, k, v: sdpa(q, k, v, attn_mask=bg.Tensor(mask, device=device)),
          lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
          [randn(1, 2, 3, 2), randn(1, 2, 4, 2), randn(1, 2, 4, 2)], device, scale=10)


def test_multihead_attention_fully_padded_sequence(device):
    """A batch element whose keys are all padding: torch (need_weights=False) gives out_proj(0), not NaN."""
    theirs, ours = torch.nn.MultiheadAttention(4, 2, batch_first=True), nn.MultiheadAttention(4, 2, batch_first=True)
    with torch.no_grad():
        theirs.out_proj.bias.uniform_(-1, 1)
    padding = np.array([[True, True, True], [False, True, False]])

    class TorchSelfAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = theirs

        def forward(self, x):
            return self.mha(x, x, x, key_padding_mask=torch.tensor(padding), need_weights=False)[0]

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = ours

        def forward(self, x):
            return self.mha(x, x, x, key_padding_mask=bg.Tensor(padding, device=x.device), need_weights=False)[0]

    run_pair(SelfAttention(), TorchSelfAttention(), randn(2, 3, 4), device)
