"""MultiheadAttention with keys and values of other widths than the queries (kdim, vdim) against torch: torch's
separate q/k/v_proj_weight parameters (names, shapes, state_dict loading), then outputs, attention weights and the
gradients of query, key, value and every parameter, on every device."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
from tests.helpers import compare, raises_baregrad

EMBED, HEADS, Q_LEN, K_LEN, BATCH = 8, 2, 3, 4, 2


def _pair(kdim, vdim, batch_first=False, bias=True):
    """torch's module with random biases (torch starts them at 0) and ours holding its weights."""
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first)
    if bias:
        with torch.no_grad():
            theirs.in_proj_bias.uniform_(-1, 1)
            theirs.out_proj.bias.uniform_(-1, 1)
    ours = nn.MultiheadAttention(EMBED, HEADS, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _shapes(module):
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


@pytest.mark.parametrize("kdim,vdim,bias", [(5, 3, True), (5, None, True), (None, 3, False), (8, 8, True)])
def test_parameters_are_torchs(kdim, vdim, bias):
    """Names, shapes and order of parameters and state_dict keys; the unused weights are None, as in torch."""
    ours, theirs = _pair(kdim, vdim, bias=bias)
    assert _shapes(ours) == _shapes(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert (ours.kdim, ours.vdim, ours._qkv_same_embed_dim) == (theirs.kdim, theirs.vdim, theirs._qkv_same_embed_dim)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
        assert (getattr(ours, name) is None) == (getattr(theirs, name) is None), name
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name].numpy(), value.numpy(), err_msg=name)


def test_fresh_weights_are_xavier_uniform():
    """Each separate projection is initialized on its own, within its own xavier bound, as torch's are."""
    ours = nn.MultiheadAttention(EMBED, HEADS, kdim=5, vdim=3)
    for name, width in (("q_proj_weight", EMBED), ("k_proj_weight", 5), ("v_proj_weight", 3)):
        w = getattr(ours, name).numpy()
        bound = np.sqrt(6 / (EMBED + width))
        assert np.abs(w).max() <= bound and np.abs(w).max() > bound / 2 and w.std() > 0, name


def _inputs(kdim, vdim, batch_first, unbatched, rng):
    """query, key, value (seq-first unless batch_first; no batch dim when unbatched) and a key_padding_mask that
    hides some keys but leaves every query something to attend to (torch's need_weights path gives NaN there)."""
    widths = (EMBED, kdim or EMBED, vdim or EMBED)
    lengths = (Q_LEN, K_LEN, K_LEN)
    arrays = [rng.standard_normal((n, BATCH, w)).astype(np.float32) for n, w in zip(lengths, widths)]
    padding = np.array([[False, False, True, False], [False, True, False, True]])
    if unbatched:
        return [a[:, 0] for a in arrays], padding[1]
    if batch_first:
        arrays = [np.ascontiguousarray(a.transpose(1, 0, 2)) for a in arrays]
    return arrays, padding


# both widths differing, or one; seq-first, batch_first and unbatched; weights averaged, per head or not asked for;
# with and without biases
CASES = {
    "k5-v3-seq-first": {"kdim": 5, "vdim": 3},
    "k6-batch-first-per-head": {"kdim": 6, "batch_first": True, "average_attn_weights": False},
    "v3-unbatched-no-bias-no-weights": {"vdim": 3, "bias": False, "unbatched": True, "need_weights": False},
}


def _loss(out, weights, seeds, tensor):
    """The output and the attention weights weighed by fixed random seeds, so gradients flow back through both."""
    loss = (out * tensor(seeds[0])).sum()
    return loss if weights is None else loss + (weights * tensor(seeds[1])).sum()


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_backward_match_torch(device, case):
    opts = dict(CASES[case])
    unbatched = opts.pop("unbatched", False)
    call = {"need_weights": opts.pop("need_weights", True),
            "average_attn_weights": opts.pop("average_attn_weights", True)}
    kdim, vdim, batch_first = opts.get("kdim"), opts.get("vdim"), opts.get("batch_first", False)
    ours, theirs = _pair(kdim, vdim, batch_first, opts.get("bias", True))
    ours.to(device)
    rng = np.random.default_rng(sum(map(ord, case)))
    arrays, padding = _inputs(kdim, vdim, batch_first, unbatched, rng)
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    bx = [bg.Tensor(a, device=device, requires_grad=True) for a in arrays]
    t_out, t_weights = theirs(*tx, key_padding_mask=torch.tensor(padding), **call)
    b_out, b_weights = ours(*bx, key_padding_mask=bg.Tensor(padding, device=device), **call)
    compare(b_out.numpy(), t_out.detach().numpy(), scale=10, what="output")
    assert (b_weights is None) == (t_weights is None) == (not call["need_weights"])
    if t_weights is not None:
        compare(b_weights.numpy(), t_weights.detach().numpy(), scale=10, what="attention weights")
    seeds = [rng.standard_normal(t.shape).astype(np.float32) for t in (t_out, t_weights) if t is not None]
    _loss(t_out, t_weights, seeds, torch.tensor).backward()
    _loss(b_out, b_weights, seeds, lambda a: bg.Tensor(a, device=device)).backward()
    for name, b, t in zip(("query", "key", "value"), bx, tx):
        compare(b.grad.numpy(), t.grad.numpy(), scale=100, what=f"grad of {name}")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        compare(p.grad.numpy(), theirs_params[name].grad.numpy(), scale=100, what=f"grad of {name}")


def test_bad_sizes_are_refused():
    """torch's ValueError for a zero size; a key of the wrong width is a ShapeError naming the shapes."""
    with pytest.raises(ValueError, match="must be greater than 0"):
        torch.nn.MultiheadAttention(0, 2, kdim=3)
    raises_baregrad(bg.ArgumentError, ValueError, "must be greater than 0",
                    lambda: nn.MultiheadAttention(0, 2, kdim=3))
    ours = nn.MultiheadAttention(EMBED, HEADS, kdim=5, vdim=3)
    q, k, v = bg.randn(Q_LEN, BATCH, EMBED), bg.randn(K_LEN, BATCH, EMBED), bg.randn(K_LEN, BATCH, 3)
    raises_baregrad(bg.ShapeError, ValueError, r"\(8, 5\)", lambda: ours(q, k, v))
