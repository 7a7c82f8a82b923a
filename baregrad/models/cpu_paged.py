"""Hand-written C kernels for a batched llama step over a pooled ("paged") KV cache, on the CPU device.

Serving decodes several sequences in one step: each row of the step is one token of one sequence, at that
sequence's own position. The KV cache is a pool of fixed-size blocks shared by all sequences; a sequence owns a
list of blocks (its row of the block table), so its positions need not be contiguous in the pool. Both kernels
read, per row, the position (`pos[t]`, negative for a padding row) and the row of the block table at run time, so
one captured launch serves every mix of sequences and positions of its row count.

  * pool_write copies each row's new key (or value) into its block at pos % block;
  * pool_attention computes, per row and head, softmax(q . k * scale) over the keys at positions <= pos[t] of
    that row's sequence (max-subtracted exp divided by the sum, as Tensor.softmax) times the values.
Rows of the same sequence may be fed together (a prompt): every write of the step happens before any attention.
  * row_argmax takes each logits row's argmax (the first on ties) on the calling thread: a generated reduce over a
    few 49k-wide rows may wake a thread team, which on a busy machine waits for descheduled threads.
"""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field
from typing import Any

from baregrad.device import Device
from baregrad.engine.buffer import Buffer
from baregrad.errors import ShapeError
from baregrad.models.cpu_quant import native_function

PARALLEL_WORK = 1 << 22  # multiply-adds below which attention runs on the calling thread

SOURCE = r"""
#include <math.h>
#include <string.h>

void pool_write(float* pool, const float* src, const int* pos, const int* table, int T, int max_blocks, int block,
                int row_floats, int src_stride) {
  for (int t = 0; t < T; t++) {
    const int p = pos[t];
    if (p < 0 || p >= max_blocks * block) continue;
    const long slot = (long)table[(long)t * max_blocks + p / block] * block + p % block;
    memcpy(pool + slot * row_floats, src + (long)t * src_stride, sizeof(float) * row_floats);
  }
}

static float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  #pragma omp simd reduction(+:s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

void pool_attention(float* out, const float* q, const float* kpool, const float* vpool, const int* pos,
                    const int* table, int T, int H, int Hkv, int D, int max_blocks, int block, float scale,
                    long parallel_work) {
  const int rep = H / Hkv, n_keys = max_blocks * block;
  #pragma omp parallel for collapse(2) schedule(dynamic, 1) if ((long)T * H * 64 * D > parallel_work)
  for (int t = 0; t < T; t++) {
    for (int h = 0; h < H; h++) {
      float* o = out + ((long)t * H + h) * D;
      for (int d = 0; d < D; d++) o[d] = 0.0f;
      const int visible = pos[t] + 1 < n_keys ? pos[t] + 1 : n_keys;
      if (visible <= 0) continue;
      float p[visible];
      const int kv = h / rep;
      const int* blocks = table + (long)t * max_blocks;
      const float* qv = q + ((long)t * H + h) * D;
      float top = -INFINITY;
      for (int j = 0; j < visible; j++) {
        const long row = (long)blocks[j / block] * block + j % block;
        p[j] = dot(qv, kpool + (row * Hkv + kv) * D, D) * scale;
        top = p[j] > top ? p[j] : top;
      }
      float sum = 0.0f;
      for (int j = 0; j < visible; j++) { p[j] = expf(p[j] - top); sum += p[j]; }
      for (int j = 0; j < visible; j++) {
        const long row = (long)blocks[j / block] * block + j % block;
        const float w = p[j] / sum, *v = vpool + (row * Hkv + kv) * D;
        #pragma omp simd
        for (int d = 0; d < D; d++) o[d] += w * v[d];
      }
    }
  }
}

void row_argmax(int* out, const float* logits, int rows, int width) {
  for (int r = 0; r < rows; r++) {
    const float* x = logits + (long)r * width;
    int best = 0;
    for (int j = 1; j < width; j++) best = x[j] > x[best] ? j : best;
    out[r] = best;
  }
}
"""

_ARGTYPES = {
    "row_argmax": [ctypes.c_void_p] * 2 + [ctypes.c_int] * 2,
    "pool_write": [ctypes.c_void_p] * 4 + [ctypes.c_int] * 5,
    "pool_attention": [ctypes.c_void_p] * 6 + [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_long],
}


def _address(b: Buffer, offset_floats: int = 0) -> int:
    return b.device.address(b.handle) + 4 * offset_floats


@dataclass
class PoolWrite:
    """Copy each row's new entry (columns [column, column + row) of `src`) into the pool at its position."""
    pool: Buffer       # (n_blocks * block, n_kv_heads, head_dim)
    src: Buffer        # (T, features)
    pos: Buffer        # (T,) int32
    table: Buffer      # (T, max_blocks) int32
    block: int
    column: int = 0
    _call: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        row = math.prod(self.pool.shape[1:])
        t = self.src.shape[0]
        stride = self.src.size // t
        if self.column + row > stride or self.table.shape[0] != t or self.pos.size != t:
            raise ShapeError(f"pool_write: src {self.src.shape} at column {self.column}, pool {self.pool.shape}, "
                             f"table {self.table.shape}, pos {self.pos.shape}")
        fn = native_function(self.pool.device, SOURCE, "pool_write", _ARGTYPES["pool_write"])
        args = (_address(self.pool), _address(self.src, self.column), _address(self.pos), _address(self.table), t,
                self.table.shape[1], self.block, row, stride)
        self._call = lambda: fn(*args)

    def run(self, device: Device | None = None) -> Buffer:
        self._call()
        return self.pool


@dataclass
class PoolAttention:
    """out (T, H * D): each row's causal grouped-query attention over its own sequence's blocks in the pool."""
    out: Buffer
    q: Buffer          # (T, H, D)
    keys: Buffer       # (n_blocks * block, Hkv, D)
    values: Buffer
    pos: Buffer
    table: Buffer
    block: int
    scale: float
    _call: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        t, h, d = self.q.shape
        _, hkv, d_kv = self.keys.shape
        if d_kv != d or h % hkv or self.out.size != t * h * d or self.keys.shape != self.values.shape:
            raise ShapeError(f"pool_attention: q {self.q.shape}, pool {self.keys.shape}, out {self.out.shape}")
        fn = native_function(self.out.device, SOURCE, "pool_attention", _ARGTYPES["pool_attention"])
        args = (_address(self.out), _address(self.q), _address(self.keys), _address(self.values), _address(self.pos),
                _address(self.table), t, h, hkv, d, self.table.shape[1], self.block, self.scale, PARALLEL_WORK)
        self._call = lambda: fn(*args)

    def run(self, device: Device | None = None) -> Buffer:
        self._call()
        return self.out


@dataclass
class RowArgmax:
    """out (rows,) int32 = the argmax of each row of logits (rows, width)."""
    out: Buffer
    logits: Buffer
    _call: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows, width = self.logits.shape
        if self.out.size != rows:
            raise ShapeError(f"row_argmax: logits {self.logits.shape} into {self.out.shape}")
        fn = native_function(self.out.device, SOURCE, "row_argmax", _ARGTYPES["row_argmax"])
        args = (_address(self.out), _address(self.logits), rows, width)
        self._call = lambda: fn(*args)

    def run(self, device: Device | None = None) -> Buffer:
        self._call()
        return self.out
