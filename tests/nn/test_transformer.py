"""torch.nn parity for TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and
Transformer: torch's module is built, its state_dict loaded into ours, and in eval mode (dropout off) the outputs and
the gradients of every input and parameter are compared, with float, bool, causal and key-padding masks."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import compare, raises_baregrad

RNG = np.random.default_rng(5)
D_MODEL, NHEAD, FF = 8, 2, 16


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _causal_float(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


def _padding(batch, n, as_float=False):
    """(batch, n): the last position of the second sample ignored (True, or -inf as a float mask), so that no
    query loses every key. torch wants it of the attention mask's type (it warns on a mix)."""
    mask = np.zeros((batch, n), bool)
    mask[1, -1] = True
    return np.where(mask, -np.inf, 0.0).astype(np.float32) if as_float else mask


def _tensors(arrays, device):
    """numpy inputs as (torch, baregrad) tensors; float ones require grad unless they are masks (kwargs)."""
    theirs = [torch.tensor(a, requires_grad=a.dtype == np.float32) for a in arrays]
    ours = [bg.Tensor(a, device=device, requires_grad=a.dtype == np.float32) for a in arrays]
    return theirs, ours


def _masks(kwargs, device):
    """Array keyword arguments (masks) as torch and baregrad tensors; others (is_causal) as they are."""
    return ({k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()},
            {k: bg.Tensor(v, device=device) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})


def run_pair(ours, theirs, inputs, device, **masks):
    """Load theirs into ours; compare the forward and the gradients of every input and parameter (eval mode)."""
    ours.load_state_dict(theirs.state_dict())
    ours.to(device).eval()
    theirs.eval()
    (tx, bx), (tm, bm) = _tensors(inputs, device), _masks(masks, device)
    expected, actual = theirs(*tx, **tm), ours(*bx, **bm)
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="forward")
    w = RNG.standard_normal(expected.shape).astype(np.float32)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    for i, (b, t) in enumerate(zip(bx, tx)):
        compare(b.grad.numpy(), t.grad.numpy(), scale=100, what=f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    assert [k for k, _ in ours.named_parameters()] == list(theirs_params)
    for name, p in ours.named_parameters():
        compare(p.grad.numpy(), theirs_params[name].grad.numpy(), scale=100, what=f"grad of {name}")


def _both(name, *args, **kwargs):
    """The same module built by torch (seeded) and by baregrad."""
    torch.manual_seed(0)
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


# each value of norm_first, activation and batch_first once (every case compiles its own kernels); the stack, the
# decoder and the full model below add the other pairings
@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", False), (True, "gelu", True)])
def test_encoder_layer(device, norm_first, activation, batch_first):
    ours, theirs = _both("TransformerEncoderLayer", D_MODEL, NHEAD, FF, activation=activation,
                         batch_first=batch_first, norm_first=norm_first)
    seq, batch = 4, 2
    x = randn(batch, seq, D_MODEL) if batch_first else randn(seq, batch, D_MODEL)
    run_pair(ours, theirs, [x], device, src_mask=_causal_float(seq),
             src_key_padding_mask=_padding(batch, seq, as_float=True))


def test_unbatched_input(device):
    """(seq, d_model) input with a (seq,) key padding mask, forward only; is_causal without a mask (torch wants
    the mask too) gives what torch gives with the causal mask."""
    ours, theirs = _both("TransformerEncoderLayer", D_MODEL, NHEAD, FF)
    ours.load_state_dict(theirs.state_dict())
    ours.to(device).eval()
    theirs.eval()
    x, padding = randn(4, D_MODEL), np.array([False, False, True, False])
    expected = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
    actual = ours(bg.Tensor(x, device=device), src_key_padding_mask=bg.Tensor(padding, device=device))
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="unbatched")
    expected = theirs(torch.tensor(x), src_mask=torch.tensor(_causal_float(4)), is_causal=True)
    compare(ours(bg.Tensor(x, device=device), is_causal=True).numpy(), expected.detach().numpy(), scale=10,
            what="is_causal")


def test_encoder_stack_with_final_norm(device):
    """Two deep copies of the layer and the final LayerNorm; a callable activation; is_causal with its mask."""
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, activation=torch.nn.functional.silu),
        2, torch.nn.LayerNorm(D_MODEL), enable_nested_tensor=False)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, activation=F.silu), 2,
                                 nn.LayerNorm(D_MODEL))
    assert ours.layers[0] is not ours.layers[1]
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    compare(ours.layers[0].linear1.weight.numpy(), ours.layers[1].linear1.weight.numpy(), what="copies")
    run_pair(ours, theirs, [randn(3, 2, D_MODEL)], device, mask=_causal_float(3), is_causal=True)


def test_decoder_layer_with_memory(device):
    """bool masks: a causal tgt_mask, padding of the target and of the memory."""
    ours, theirs = _both("TransformerDecoderLayer", D_MODEL, NHEAD, FF)
    tgt_len, src_len, batch = 3, 4, 2
    causal = np.triu(np.ones((tgt_len, tgt_len), bool), 1)
    run_pair(ours, theirs, [randn(tgt_len, batch, D_MODEL), randn(src_len, batch, D_MODEL)], device,
             tgt_mask=causal, tgt_key_padding_mask=_padding(batch, tgt_len),
             memory_key_padding_mask=_padding(batch, src_len))


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer(device):
    """The full model, batch_first, norm_first, dropout 0.1 (off in eval), float masks of every kind."""
    ours, theirs = _both("Transformer", D_MODEL, NHEAD, 1, 1, FF, batch_first=True, norm_first=True)
    src_len, tgt_len, batch = 4, 3, 2
    memory_mask = np.zeros((tgt_len, src_len), np.float32)
    memory_mask[0, 1] = -np.inf
    memory_mask[2, 0] = -0.5
    run_pair(ours, theirs, [randn(batch, src_len, D_MODEL), randn(batch, tgt_len, D_MODEL)], device,
             tgt_mask=_causal_float(tgt_len), memory_mask=memory_mask,
             src_key_padding_mask=_padding(batch, src_len, True),
             memory_key_padding_mask=_padding(batch, src_len, True))


def _decoder(lib, **kw):
    return lib.TransformerDecoder(lib.TransformerDecoderLayer(D_MODEL, NHEAD, FF, **kw), 2, lib.LayerNorm(D_MODEL))


@pytest.mark.parametrize("build", [
    lambda lib: lib.TransformerEncoderLayer(D_MODEL, NHEAD, FF),
    lambda lib: lib.TransformerEncoderLayer(D_MODEL, NHEAD, FF, bias=False),
    lambda lib: lib.TransformerDecoderLayer(D_MODEL, NHEAD, FF, bias=False),
    lambda lib: _decoder(lib),
    lambda lib: lib.TransformerEncoder(lib.TransformerEncoderLayer(D_MODEL, NHEAD, FF), 3),
    lambda lib: lib.Transformer(D_MODEL, NHEAD, 2, 1, FF),
    lambda lib: lib.Transformer(D_MODEL, NHEAD, 1, 2, FF, bias=False)])
def test_state_dict_keys_match_torch(build):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's enable_nested_tensor warning
        theirs = build(torch.nn).state_dict()
    ours = build(nn).state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


def test_generate_square_subsequent_mask():
    for n in (1, 4):
        expected = torch.nn.Transformer.generate_square_subsequent_mask(n).numpy()
        np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(n).numpy(), expected)
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype="float16").dtype == bg.float16


def test_transformer_attributes_and_initialization():
    model = nn.Transformer(D_MODEL, NHEAD, 2, 1, FF, dropout=0.2, layer_norm_eps=1e-3, activation="gelu")
    assert (model.d_model, model.nhead, model.batch_first) == (D_MODEL, NHEAD, False)
    assert model.encoder.num_layers == 2 and model.decoder.num_layers == 1
    layer = model.encoder.layers[1]
    assert layer.activation is F.gelu and layer.activation_relu_or_gelu == 2 and layer.norm1.eps == 1e-3
    assert layer.dropout.p == 0.2 and layer.self_attn.dropout == 0.2
    # xavier_uniform_ re-initializes every matrix, so the deep-copied layers differ afterwards, as in torch
    first, second = model.encoder.layers[0].linear1.weight.numpy(), layer.linear1.weight.numpy()
    assert not np.allclose(first, second)
    bound = np.sqrt(6.0 / (D_MODEL + FF))
    assert np.abs(second).max() <= bound
    assert nn.TransformerEncoder(nn.TransformerEncoderLayer(D_MODEL, NHEAD), 1).norm is None


def test_errors():
    raises_baregrad(bg.ArgumentError, ValueError, "relu/gelu", lambda: nn.TransformerEncoderLayer(8, 2, 16,
                                                                                                   activation="tanh"))
    model = nn.Transformer(D_MODEL, NHEAD, 1, 1, FF)
    src, tgt = bg.Tensor(randn(4, 2, D_MODEL)), bg.Tensor(randn(3, 3, D_MODEL))
    raises_baregrad(bg.ShapeError, ValueError, "batch number", lambda: model(src, tgt))
    wide = bg.Tensor(randn(3, 2, 6))
    raises_baregrad(bg.ShapeError, ValueError, "feature number", lambda: model(wide, wide))
    layer = nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF)
    int_mask = bg.Tensor(np.zeros((4, 4), np.int32))
    raises_baregrad(bg.DTypeError, TypeError, "src_mask", lambda: layer(src, src_mask=int_mask))
