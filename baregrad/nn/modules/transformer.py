"""torch's Transformer, TransformerEncoder, TransformerDecoder and their layers, with torch's parameter names
(self_attn.in_proj_weight, linear1.weight, norm1.weight, layers.0. ...) so that a torch state_dict loads.

Masks follow MultiheadAttention: a bool mask is True where a query may not attend, a float mask is added to the
attention scores (-inf: may not attend). Dropout is off in eval mode, as in torch.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.nn import functional as F
from baregrad.nn import init
from baregrad.nn.functional.helpers import causal_mask
from baregrad.nn.materialize import materialize
from baregrad.nn.module import Module
from baregrad.nn.modules.activation import Dropout
from baregrad.nn.modules.attention import MultiheadAttention
from baregrad.nn.modules.container import ModuleList
from baregrad.nn.modules.linear import Linear
from baregrad.nn.modules.norm import LayerNorm
from baregrad.tensor import Tensor

Activation = str | Callable[[Tensor], Tensor]


def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    """The (sz, sz) causal float mask: -inf above the diagonal (later positions), 0.0 on and below it."""
    allowed = causal_mask(sz, sz, device)
    mask = allowed.where(0.0, -math.inf)
    return mask.cast(dtype) if dtype is not None else mask


def _activation_fn(activation: Activation) -> Callable[[Tensor], Tensor]:
    if not isinstance(activation, str):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise ArgumentError(f"activation should be relu/gelu, not {activation}")


def _check_mask(mask: Tensor | None, name: str) -> None:
    """torch's _canonical_mask accepts bool and floating masks only (an integer mask is refused)."""
    if mask is not None and mask.dtype is not dt.bool_ and not mask.dtype.is_float:
        raise DTypeError(f"only bool and floating types of {name} are supported, got {mask.dtype.name}")


def _clones(layer: Module, n: int) -> ModuleList:
    """n independent deep copies of layer (equal values, separate parameters), as torch's _get_clones."""
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class _Layer(Module):
    """What the encoder and decoder layers share: the feed-forward block and torch's activation handling."""
    linear1: Linear
    linear2: Linear
    dropout: Dropout
    activation: Callable[[Tensor], Tensor]

    def _add_feedforward(self, d_model: int, dim_feedforward: int, dropout: float, bias: bool, device: Any,
                         dtype: Any) -> None:
        """linear1, dropout, linear2, registered in torch's order (state_dict keys come out in the same order)."""
        self.linear1 = Linear(d_model, dim_feedforward, bias, device, dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias, device, dtype)

    def _residual(self, x: Tensor, block: Callable[[Tensor], Tensor], norm: LayerNorm) -> Tensor:
        """x + block(norm(x)) with norm_first, else norm(x + block(x)). The sum, which is a norm's input (this
        one's, or with norm_first the next one's), is computed into a buffer: the norm's backward then reads it
        instead of recomputing the whole block in its kernels."""
        if self.norm_first:
            return materialize(x + block(norm(x)))[0]
        return norm(materialize(x + block(x))[0])

    def _feedforward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    @staticmethod
    def _attend(attn: MultiheadAttention, x: Tensor, kv: Tensor, mask: Tensor | None,
                key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        return attn(x, kv, kv, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=mask,
                    is_causal=is_causal)[0]


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward block, each with a residual and a LayerNorm (after each block, or
    before it with norm_first)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, device, dtype)
        self._add_feedforward(d_model, dim_feedforward, dropout, bias, device, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        activation = _activation_fn(activation)
        # torch's flag for its fused path: 1 relu, 2 gelu, 0 anything else
        self.activation_relu_or_gelu = 1 if activation is F.relu else 2 if activation is F.gelu else 0
        self.activation = activation

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        _check_mask(src_mask, "src_mask")
        _check_mask(src_key_padding_mask, "src_key_padding_mask")

        def self_block(x: Tensor) -> Tensor:
            return self.dropout1(self._attend(self.self_attn, x, x, src_mask, src_key_padding_mask, is_causal))

        x = self._residual(src, self_block, self.norm1)
        return self._residual(x, lambda h: self.dropout2(self._feedforward(h)), self.norm2)


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over the encoder's output (memory), then a feed-forward block; each with a
    residual and a LayerNorm (after each block, or before it with norm_first)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, device, dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, device, dtype)
        self._add_feedforward(d_model, dim_feedforward, dropout, bias, device, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm3 = LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)
        self.activation = _activation_fn(activation)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        for mask, name in ((tgt_mask, "tgt_mask"), (memory_mask, "memory_mask"),
                           (tgt_key_padding_mask, "tgt_key_padding_mask"),
                           (memory_key_padding_mask, "memory_key_padding_mask")):
            _check_mask(mask, name)

        def self_block(x: Tensor) -> Tensor:
            out = self._attend(self.self_attn, x, x, tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            return self.dropout1(out)

        def memory_block(x: Tensor) -> Tensor:
            out = self._attend(self.multihead_attn, x, memory, memory_mask, memory_key_padding_mask,
                               memory_is_causal)
            return self.dropout2(out)

        x = self._residual(tgt, self_block, self.norm1)
        x = self._residual(x, memory_block, self.norm2)
        return self._residual(x, lambda h: self.dropout3(self._feedforward(h)), self.norm3)


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer applied in turn, then the optional final norm.
    enable_nested_tensor and mask_check are kept for torch's signature; there is no nested-tensor fast path."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.use_nested_tensor, self.mask_check = enable_nested_tensor, False, mask_check

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        # is_causal=None: torch checks whether mask is the causal one, only to pick a faster kernel; the given
        # mask gives the same result, so only an explicit True changes anything (a causal mask when mask is None)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        return self.norm(output) if self.norm is not None else output


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer applied in turn (each attending to memory), then the optional
    final norm."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        output, memory = tgt, materialize(memory)[0]  # read by every layer: computed once, not in each kernel
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                           memory_is_causal=memory_is_causal)
        return self.norm(output) if self.norm is not None else output


class Transformer(Module):
    """An encoder and a decoder stack, each ending in a LayerNorm; every parameter with more than one dim is
    re-initialized with xavier_uniform_, as torch does."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is None:
            custom_encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, **factory), num_encoder_layers,
                                                LayerNorm(d_model, layer_norm_eps, bias=bias, **factory))
        if custom_decoder is None:
            custom_decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, **factory), num_decoder_layers,
                                                LayerNorm(d_model, layer_norm_eps, bias=bias, **factory))
        self.encoder, self.decoder = custom_encoder, custom_decoder
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        self._check_inputs(src, tgt)
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    def _check_inputs(self, src: Tensor, tgt: Tensor) -> None:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise ShapeError(f"the batch number of src and tgt must be equal, got shapes {src.shape} and "
                             f"{tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"the feature number of src and tgt must be equal to d_model ({self.d_model}), got "
                             f"shapes {src.shape} and {tgt.shape}")


__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]
