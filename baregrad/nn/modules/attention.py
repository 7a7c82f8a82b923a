"""MultiheadAttention with torch's parameter names (in_proj_weight, or q/k/v_proj_weight when kdim or vdim differ;
in_proj_bias, out_proj) and masks."""
from __future__ import annotations

import math
from typing import Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError
from baregrad.nn import functional as F
from baregrad.nn import init
from baregrad.nn.functional.helpers import causal_mask
from baregrad.nn.module import Module, Parameter
from baregrad.nn.modules.linear import Linear
from baregrad.tensor import Tensor


class MultiheadAttention(Module):
    """torch's MultiheadAttention. Keys and values of other widths (kdim, vdim) get torch's separate
    q_proj_weight, k_proj_weight and v_proj_weight instead of the packed in_proj_weight (then None)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, device: Any = None, dtype: Any = None, kdim: int | None = None,
                 vdim: int | None = None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                                f"num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ArgumentError(f"embed_dim {embed_dim} must divide by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self._register_in_proj_weights(device, dtype)
        self.in_proj_bias = Parameter(Tensor.zeros(3 * embed_dim, device=device, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        # initialized after out_proj, as torch does: a seeded model draws its numbers in the same order
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _register_in_proj_weights(self, device: Any, dtype: Any) -> None:
        """Registered in torch's order, the unused ones as None, so state_dict keys and order are torch's."""
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(Tensor.empty(3 * e, e, device=device, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
            return
        for name, width in (("q_proj_weight", e), ("k_proj_weight", self.kdim), ("v_proj_weight", self.vdim)):
            self.register_parameter(name, Parameter(Tensor.empty(e, width, device=device, dtype=dtype)))
        self.register_parameter("in_proj_weight", None)

    def _in_projection(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q, k and v before the split into heads; each takes its third of in_proj_bias, as in torch."""
        e, b = self.embed_dim, self.in_proj_bias
        biases = (b[:e], b[e:2 * e], b[2 * e:]) if b is not None else (None, None, None)
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        q, k, v = (F.linear(x, w, bias) for x, w, bias in zip((query, key, value), weights, biases))
        return q, k, v

    def _heads(self, x: Tensor) -> Tensor:
        n, length = x.shape[0], x.shape[1]
        return x.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _mask(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, n: int, q_len: int,
              k_len: int, d: dt.DType) -> Tensor | None:
        """One additive float mask of shape (n, heads or 1, q_len, k_len); bool True means 'do not attend'."""
        out = None
        if attn_mask is not None:
            m = attn_mask.where(-math.inf, 0.0).cast(d) if attn_mask.dtype is dt.bool_ else attn_mask
            out = m.reshape(n, self.num_heads, q_len, k_len) if m.ndim == 3 else m
        if key_padding_mask is not None:
            kp = key_padding_mask
            kp = kp.where(-math.inf, 0.0).cast(d) if kp.dtype is dt.bool_ else kp
            kp = kp.reshape(n, 1, 1, k_len)
            out = kp if out is None else out + kp
        return out

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = key_padding_mask.unsqueeze(0) if key_padding_mask is not None else None
        if not self.batch_first or unbatched:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        e = self.embed_dim
        q, k, v = (self._heads(x) for x in self._in_projection(query, key, value))
        n, q_len, k_len = q.shape[0], q.shape[2], k.shape[2]
        if is_causal and attn_mask is None:
            attn_mask = ~causal_mask(q_len, k_len, q.device)
        mask = self._mask(attn_mask, key_padding_mask, n, q_len, k_len, q.dtype)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if mask is not None:
            scores = scores + mask
        # torch's SDPA path (need_weights=False, its fast path) gives 0 for a fully masked query; its
        # need_weights=True path gives NaN there: we give 0 either way
        weights = F.masked_softmax(scores) if mask is not None else scores.softmax(-1)
        dropped = F.dropout(weights, self.dropout, self.training) if self.dropout else weights
        out = (dropped @ v).transpose(1, 2).reshape(n, q_len, e)
        out = self.out_proj(out)
        if not self.batch_first or unbatched:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        # torch returns the weights that were applied, after dropout
        weights = dropped.mean(1) if average_attn_weights else dropped
        return out, weights.squeeze(0) if unbatched else weights
