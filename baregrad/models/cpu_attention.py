"""Hand-written C kernels for a llama step's KV-cache write and grouped-query attention on the CPU device.

The Tensor-op versions (models/llama.py) keep one graph for every position, so a step rewrites its whole cache chunk
with a where() and attends with three generated kernels. Here a write copies just the new rows, and attention is one
kernel computing, per query row and head, the scores over the visible keys, their softmax (max-subtracted exp,
divided by the sum, as Tensor.softmax) and the weighted sum of values. Both read the step's start position and token
count from its int32 `meta` buffer at run time, so a captured launch serves every position of its plan.

The cache is a list of chunk buffers of `chunk` rows, each row (n_kv_heads, head_dim) float32, as llama keeps it.
Attention is threaded over (row, head) pairs only when there is enough of it: on a shared two-core machine a thread
team per small kernel costs far more than it saves.
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

PARALLEL_WORK = 1 << 23  # multiply-adds below which attention runs on the calling thread

SOURCE = r"""
#include <math.h>
#include <string.h>

/* rows t < n of src (row stride src_stride) whose position start + t falls in this chunk, copied into it */
void kv_write(float* chunk, const float* src, const int* meta, int chunk_start, int chunk_rows, int row_floats,
              int src_stride) {
  const int start = meta[0], n = meta[1];
  for (int t = 0; t < n; t++) {
    const int row = start + t - chunk_start;
    if (row >= 0 && row < chunk_rows)
      memcpy(chunk + (long)row * row_floats, src + (long)t * src_stride, sizeof(float) * row_floats);
  }
}

static float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  #pragma omp simd reduction(+:s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* out[t, h, :] = softmax_j(q[t, h] . k[j, h / rep] * scale) @ v[:, h / rep] over keys j <= start + t */
void attention(float* out, const float* q, const float* const* keys, const float* const* values, const int* meta,
               int T, int H, int Hkv, int D, int chunk, int n_keys, float scale, long parallel_work) {
  const int start = meta[0], rep = H / Hkv;
  #pragma omp parallel for collapse(2) schedule(dynamic, 1) if ((long)T * H * n_keys * D > parallel_work)
  for (int t = 0; t < T; t++) {
    for (int h = 0; h < H; h++) {
      float p[n_keys];
      const int kv = h / rep, visible = start + t + 1 < n_keys ? start + t + 1 : n_keys;
      const float* qv = q + ((long)t * H + h) * D;
      float top = -INFINITY;
      for (int j = 0; j < visible; j++) {
        p[j] = dot(qv, keys[j / chunk] + ((long)(j % chunk) * Hkv + kv) * D, D) * scale;
        top = p[j] > top ? p[j] : top;
      }
      float sum = 0.0f;
      for (int j = 0; j < visible; j++) { p[j] = expf(p[j] - top); sum += p[j]; }
      float* o = out + ((long)t * H + h) * D;
      for (int d = 0; d < D; d++) o[d] = 0.0f;
      for (int j = 0; j < visible; j++) {
        const float w = p[j] / sum, *v = values[j / chunk] + ((long)(j % chunk) * Hkv + kv) * D;
        #pragma omp simd
        for (int d = 0; d < D; d++) o[d] += w * v[d];
      }
    }
  }
}
"""

_ARGTYPES = {
    "kv_write": [ctypes.c_void_p] * 3 + [ctypes.c_int] * 4,
    "attention": [ctypes.c_void_p] * 5 + [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_long],
}


def _address(b: Buffer, offset_floats: int = 0) -> int:
    return b.device.address(b.handle) + 4 * offset_floats


@dataclass
class KVWrite:
    """Copy the step's new rows (meta: start, count) of `src` columns [column, column + row) into one chunk."""
    chunk: Buffer
    chunk_start: int    # position of the chunk's first row
    src: Buffer
    meta: Buffer
    column: int = 0
    _call: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows, *row_shape = self.chunk.shape
        row = math.prod(row_shape)
        stride = self.src.size // self.src.shape[0]
        if self.column + row > stride:
            raise ShapeError(f"kv_write: {row} floats at column {self.column} do not fit rows of {stride}")
        fn = native_function(self.chunk.device, SOURCE, "kv_write", _ARGTYPES["kv_write"])
        args = (_address(self.chunk), _address(self.src, self.column), _address(self.meta), self.chunk_start, rows,
                row, stride)
        self._call = lambda: fn(*args)

    def run(self, device: Device | None = None) -> Buffer:
        self._call()
        return self.chunk


@dataclass
class Attention:
    """out (T, H * D) = causal grouped-query attention of q (T, H, D) over the first len(keys) cache chunks."""
    out: Buffer
    q: Buffer
    keys: list[Buffer]
    values: list[Buffer]
    meta: Buffer
    _call: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        t, h, d = self.q.shape
        chunk, hkv, d_kv = self.keys[0].shape
        if d_kv != d or h % hkv or self.out.size != t * h * d or len(self.values) != len(self.keys):
            raise ShapeError(f"attention: q {self.q.shape}, cache chunks {self.keys[0].shape}, out {self.out.shape}")
        fn = native_function(self.out.device, SOURCE, "attention", _ARGTYPES["attention"])
        key_ptrs = (ctypes.c_void_p * len(self.keys))(*[_address(b) for b in self.keys])
        value_ptrs = (ctypes.c_void_p * len(self.values))(*[_address(b) for b in self.values])
        args = (_address(self.out), _address(self.q), ctypes.addressof(key_ptrs), ctypes.addressof(value_ptrs),
                _address(self.meta), t, h, hkv, d, chunk, chunk * len(self.keys), 1.0 / math.sqrt(d), PARALLEL_WORK)
        self._call = lambda: fn(*args)
        self._alive = (key_ptrs, value_ptrs)

    def run(self, device: Device | None = None) -> Buffer:
        self._call()
        return self.out
