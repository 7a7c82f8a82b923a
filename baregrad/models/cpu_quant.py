"""Hand-written SIMD kernels for block-quantized matmuls (Q4_1, Q8_0) on the CPU device.

quant_matmul expresses the block decode with Tensor ops, and the generated kernel reads the packed bytes one at a
time: right on every device, but scalar. On the CPU these C kernels (AVX-512 or AVX2 + FMA + F16C intrinsics,
whichever the compiler targets with -march=native on this machine, portable C otherwise) compute the same product
from the same raw GGUF blocks, with float32 activations, so results match the Tensor-op path up to float summation
order:

  * one activation row (decoding a token): each block is read once, its nibbles widened to floats in registers and
    multiplied with x; a Q4_1 block contributes d * sum(x * q) + m * sum(x), with sum(x) per block computed once
    per call instead of once per weight row;
  * a few rows (a batched decode step, one row per sequence; up to 4 with AVX-512, 8 with AVX2): each block is
    unpacked once and multiplied with every row, each row's sum computed exactly as the one-row kernel computes it
    (same bits as alone). At 8 rows: 4.5x the one-row time with AVX-512 (the prompt kernel: 3.6x), 2.1x at 4;
  * several rows (a prompt): weight rows are decoded to float32 a few at a time and reused by every activation row,
    in a register tile of 4 x 4 (AVX-512) or 2 x 4 (AVX2) products; single-threaded, 0.8-1.0x of OpenBLAS's sgemm on
    the dequantized weights at SmolLM2's shapes (bench/quant_matmul.py).
Threads: a product of fewer than PARALLEL_WORK multiply-adds runs on the calling thread. Decoding a token calls
about 120 of them, each well under a millisecond, all reading weights from memory, which one core nearly saturates:
waking a thread team per call costs more than it saves, and on a busy machine (more runnable threads than cores)
every wake-up can wait a whole scheduler slice (measured on a shared 2-core box under load 4: decode 20 tok/s on
one thread, 11-19 with two). Prompt-sized products, compute-bound, share rows among OpenMP threads in small dynamic
chunks, so a descheduled thread holds up the others for one chunk, not for half the matrix.

A launch (`MatmulLaunch`) binds persistent buffers once; llama's decode plan replays it with no graph work.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

from baregrad import dtype as dt
from baregrad.device import Device, get_device
from baregrad.engine.buffer import Buffer
from baregrad.errors import ShapeError
from baregrad.models.quant_matmul import QuantWeight
from baregrad.nn.state.quant import LAYOUTS, GGMLType
from baregrad.tensor import Tensor

# the kernel's `type` argument for each supported ggml type
KERNEL_TYPES = {GGMLType.Q4_1: 0, GGMLType.Q8_0: 1}
PARALLEL_WORK = 1 << 25  # multiply-adds below which a product runs on the calling thread (all of a decode)

SOURCE = r"""
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define SIMD 1
#else
#define SIMD 0
#endif
#if SIMD && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SIMD512 1
#else
#define SIMD512 0
#endif

enum { QK = 32, Q4_1_SIZE = 20, Q8_0_SIZE = 34, TYPE_Q4_1 = 0, TYPE_Q8_0 = 1 };

static inline float half_at(const unsigned char* p) { _Float16 h; memcpy(&h, p, 2); return (float)h; }
static void store(float* out, const float* res, long at, float v) { out[at] = res ? res[at] + v : v; }

/* one weight row as float32, as quant_matmul's Tensor-op decoders compute it */
static void decode_q4_1(const unsigned char* row, int nb, float* w) {
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    float d = half_at(blk), m = half_at(blk + 2);
    for (int j = 0; j < 16; j++) {
      w[b * QK + j] = (float)(blk[4 + j] & 15) * d + m;
      w[b * QK + 16 + j] = (float)(blk[4 + j] >> 4) * d + m;
    }
  }
}

static void decode_q8_0(const unsigned char* row, int nb, float* w) {
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    float d = half_at(blk);
    for (int j = 0; j < QK; j++) w[b * QK + j] = (float)(signed char)blk[2 + j] * d;
  }
}

#if SIMD
static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
/* the low 8 bytes of q as 8 floats, unsigned or signed */
static inline __m256 u8_to_f32(__m128i q) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)); }
static inline __m256 i8_to_f32(__m128i q) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)); }
/* the 32 weights w0..w3 (8 each, in order) of one block times x's 32 values, as 8 partial sums; every dot below
   sums a block this way, so a row gives the same bits in the one-row and the batched kernels */
static inline __m256 block_dot8(__m256 w0, __m256 w1, __m256 w2, __m256 w3, const float* xb) {
  __m256 s0 = _mm256_mul_ps(w0, _mm256_loadu_ps(xb));
  __m256 s1 = _mm256_mul_ps(w1, _mm256_loadu_ps(xb + 8));
  s0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xb + 16), s0);
  s1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xb + 24), s1);
  return _mm256_add_ps(s0, s1);
}
#endif

#if SIMD512
/* 16 nibbles or bytes (the low or high halves of a block) as 16 floats */
static inline __m512 u8x16_to_f32(__m128i q) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(q)); }
static inline __m512 i8x16_to_f32(__m128i q) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)); }

/* x . dequantized block: 32 weights of a Q4_1 block (scale and min applied by the caller) */
static inline __m512 q4_1_block(const unsigned char* blk, const float* xb) {
  const __m128i low4 = _mm_set1_epi8(15);
  __m128i q = _mm_loadu_si128((const __m128i*)(blk + 4));
  __m512 s = _mm512_mul_ps(u8x16_to_f32(_mm_and_si128(q, low4)), _mm512_loadu_ps(xb));
  return _mm512_fmadd_ps(u8x16_to_f32(_mm_and_si128(_mm_srli_epi16(q, 4), low4)), _mm512_loadu_ps(xb + 16), s);
}

static inline __m512 q8_0_block(const unsigned char* blk, const float* xb) {
  __m512 s = _mm512_mul_ps(i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 2))), _mm512_loadu_ps(xb));
  return _mm512_fmadd_ps(i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 18))), _mm512_loadu_ps(xb + 16), s);
}

/* Two accumulators (even and odd blocks): one would make every block wait for the previous block's FMA. */
static float dot_q4_1_512(const unsigned char* row, const float* x, const float* xsum, int nb) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
  float mins0 = 0.0f, mins1 = 0.0f;
  int b = 0;
  for (; b + 1 < nb; b += 2) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk)), q4_1_block(blk, x + b * QK), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk + Q4_1_SIZE)), q4_1_block(blk + Q4_1_SIZE, x + b * QK + QK),
                           acc1);
    mins0 += half_at(blk + 2) * xsum[b];
    mins1 += half_at(blk + Q4_1_SIZE + 2) * xsum[b + 1];
  }
  if (b < nb) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk)), q4_1_block(blk, x + b * QK), acc0);
    mins0 += half_at(blk + 2) * xsum[b];
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + mins0 + mins1;
}

static float dot_q8_0_512(const unsigned char* row, const float* x, int nb) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
  int b = 0;
  for (; b + 1 < nb; b += 2) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk)), q8_0_block(blk, x + b * QK), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk + Q8_0_SIZE)), q8_0_block(blk + Q8_0_SIZE, x + b * QK + QK),
                           acc1);
  }
  if (b < nb) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(half_at(blk)), q8_0_block(blk, x + b * QK), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* The few-rows products (see dots_q4_1 below) as dot_q4_1_512 / dot_q8_0_512 sum one row: blocks in pairs, even
   and odd in two accumulators per row, so each row gets the bits it gets alone. Inlined with a constant T (see
   few_rows), the per-row accumulators live in registers. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))
ALWAYS_INLINE void dots_q4_1_512(const unsigned char* row, const float* x, const float* xsum, const int T, int K,
                                 int nb, float* r) {
  __m512 acc0[8], acc1[8];
  float mins0[8], mins1[8];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) { acc0[t] = acc1[t] = _mm512_setzero_ps(); mins0[t] = mins1[t] = 0.0f; }
  const __m128i low4 = _mm_set1_epi8(15);
  int b = 0;
  for (; b + 1 < nb; b += 2) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    const __m128i q0 = _mm_loadu_si128((const __m128i*)(blk + 4));
    const __m128i q1 = _mm_loadu_si128((const __m128i*)(blk + Q4_1_SIZE + 4));
    const __m512 lo0 = u8x16_to_f32(_mm_and_si128(q0, low4));
    const __m512 hi0 = u8x16_to_f32(_mm_and_si128(_mm_srli_epi16(q0, 4), low4));
    const __m512 lo1 = u8x16_to_f32(_mm_and_si128(q1, low4));
    const __m512 hi1 = u8x16_to_f32(_mm_and_si128(_mm_srli_epi16(q1, 4), low4));
    const __m512 d0 = _mm512_set1_ps(half_at(blk)), d1 = _mm512_set1_ps(half_at(blk + Q4_1_SIZE));
    const float m0 = half_at(blk + 2), m1 = half_at(blk + Q4_1_SIZE + 2);
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const float* xb = x + (long)t * K + b * QK;
      acc0[t] = _mm512_fmadd_ps(d0, _mm512_fmadd_ps(hi0, _mm512_loadu_ps(xb + 16),
                                                    _mm512_mul_ps(lo0, _mm512_loadu_ps(xb))), acc0[t]);
      acc1[t] = _mm512_fmadd_ps(d1, _mm512_fmadd_ps(hi1, _mm512_loadu_ps(xb + 48),
                                                    _mm512_mul_ps(lo1, _mm512_loadu_ps(xb + 32))), acc1[t]);
      /* fmaf, as the compiler contracts the one-row kernel's mins += m * xsum */
      mins0[t] = fmaf(m0, xsum[(long)t * nb + b], mins0[t]);
      mins1[t] = fmaf(m1, xsum[(long)t * nb + b + 1], mins1[t]);
    }
  }
  if (b < nb) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    const __m128i q0 = _mm_loadu_si128((const __m128i*)(blk + 4));
    const __m512 lo0 = u8x16_to_f32(_mm_and_si128(q0, low4));
    const __m512 hi0 = u8x16_to_f32(_mm_and_si128(_mm_srli_epi16(q0, 4), low4));
    const __m512 d0 = _mm512_set1_ps(half_at(blk));
    const float m0 = half_at(blk + 2);
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const float* xb = x + (long)t * K + b * QK;
      acc0[t] = _mm512_fmadd_ps(d0, _mm512_fmadd_ps(hi0, _mm512_loadu_ps(xb + 16),
                                                    _mm512_mul_ps(lo0, _mm512_loadu_ps(xb))), acc0[t]);
      mins0[t] = fmaf(m0, xsum[(long)t * nb + b], mins0[t]);
    }
  }
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) r[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t])) + mins0[t] + mins1[t];
}

ALWAYS_INLINE void dots_q8_0_512(const unsigned char* row, const float* x, const int T, int K, int nb, float* r) {
  __m512 acc0[8], acc1[8];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
  int b = 0;
  for (; b + 1 < nb; b += 2) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    const __m512 lo0 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 2)));
    const __m512 hi0 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 18)));
    const __m512 lo1 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + Q8_0_SIZE + 2)));
    const __m512 hi1 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + Q8_0_SIZE + 18)));
    const __m512 d0 = _mm512_set1_ps(half_at(blk)), d1 = _mm512_set1_ps(half_at(blk + Q8_0_SIZE));
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const float* xb = x + (long)t * K + b * QK;
      acc0[t] = _mm512_fmadd_ps(d0, _mm512_fmadd_ps(hi0, _mm512_loadu_ps(xb + 16),
                                                    _mm512_mul_ps(lo0, _mm512_loadu_ps(xb))), acc0[t]);
      acc1[t] = _mm512_fmadd_ps(d1, _mm512_fmadd_ps(hi1, _mm512_loadu_ps(xb + 48),
                                                    _mm512_mul_ps(lo1, _mm512_loadu_ps(xb + 32))), acc1[t]);
    }
  }
  if (b < nb) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    const __m512 lo0 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 2)));
    const __m512 hi0 = i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 18)));
    const __m512 d0 = _mm512_set1_ps(half_at(blk));
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const float* xb = x + (long)t * K + b * QK;
      acc0[t] = _mm512_fmadd_ps(d0, _mm512_fmadd_ps(hi0, _mm512_loadu_ps(xb + 16),
                                                    _mm512_mul_ps(lo0, _mm512_loadu_ps(xb))), acc0[t]);
    }
  }
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) r[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t]));
}

/* Prompt-sized products: four weight rows at a time are decoded to float32 (vector code, once) and reused by
   every activation row in a register tile of 4 weight rows x 4 activation rows: per 16 k, 8 loads feed 16 FMAs
   into 16 zmm accumulators, each summed across its lanes at the end. */
static void decode_row_512(int type, const unsigned char* row, int nb, float* w) {
  const __m128i low4 = _mm_set1_epi8(15);
  for (int b = 0; b < nb; b++) {
    if (type == TYPE_Q4_1) {
      const unsigned char* blk = row + b * Q4_1_SIZE;
      __m512 d = _mm512_set1_ps(half_at(blk)), m = _mm512_set1_ps(half_at(blk + 2));
      __m128i q = _mm_loadu_si128((const __m128i*)(blk + 4));
      _mm512_storeu_ps(w + b * QK, _mm512_fmadd_ps(u8x16_to_f32(_mm_and_si128(q, low4)), d, m));
      _mm512_storeu_ps(w + b * QK + 16,
                       _mm512_fmadd_ps(u8x16_to_f32(_mm_and_si128(_mm_srli_epi16(q, 4), low4)), d, m));
    } else {
      const unsigned char* blk = row + b * Q8_0_SIZE;
      __m512 d = _mm512_set1_ps(half_at(blk));
      _mm512_storeu_ps(w + b * QK, _mm512_mul_ps(i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 2))), d));
      _mm512_storeu_ps(w + b * QK + 16, _mm512_mul_ps(i8x16_to_f32(_mm_loadu_si128((const __m128i*)(blk + 18))), d));
    }
  }
}

/* r[i * 4 + j] = w[i] . xs[j]; K is a multiple of 32. Written out (no arrays of accumulators): at -O2 gcc
   would keep an array in memory. */
#define FMA4(c0, c1, c2, c3, v) c0 = _mm512_fmadd_ps(v, x0, c0); c1 = _mm512_fmadd_ps(v, x1, c1); \
                                c2 = _mm512_fmadd_ps(v, x2, c2); c3 = _mm512_fmadd_ps(v, x3, c3);
static void tile_4x4_512(const float* const* w, const float* const* xs, int K, float* r) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
  const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  const float *p0 = xs[0], *p1 = xs[1], *p2 = xs[2], *p3 = xs[3];
  for (int k = 0; k < K; k += 16) {
    __m512 x0 = _mm512_loadu_ps(p0 + k), x1 = _mm512_loadu_ps(p1 + k);
    __m512 x2 = _mm512_loadu_ps(p2 + k), x3 = _mm512_loadu_ps(p3 + k);
    __m512 v = _mm512_loadu_ps(w0 + k);
    FMA4(a0, a1, a2, a3, v)
    v = _mm512_loadu_ps(w1 + k);
    FMA4(b0, b1, b2, b3, v)
    v = _mm512_loadu_ps(w2 + k);
    FMA4(c0, c1, c2, c3, v)
    v = _mm512_loadu_ps(w3 + k);
    FMA4(d0, d1, d2, d3, v)
  }
  __m512 acc[16] = {a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3};
  for (int i = 0; i < 16; i++) r[i] = _mm512_reduce_add_ps(acc[i]);
}
#undef FMA4

static void gemm_512(int type, float* out, const float* x, const unsigned char* w, const float* res,
                     int T, int N, int K, int ldo, long row_bytes, int threads) {
  const int nb = K / QK;
  #pragma omp parallel if (threads)
  {
    float* rows = aligned_alloc(64, sizeof(float) * 4 * (K > 0 ? K : 16));
    #pragma omp for schedule(dynamic, 2)
    for (int quad = 0; quad < (N + 3) / 4; quad++) {
      const float* ws[4];
      int ns[4];
      for (int i = 0; i < 4; i++) {
        ns[i] = 4 * quad + i < N ? 4 * quad + i : 4 * quad;  /* rows past N repeat the first; never stored */
        ws[i] = rows + (long)i * K;
        decode_row_512(type, w + ns[i] * row_bytes, nb, rows + (long)i * K);
      }
      for (int t0 = 0; t0 < T; t0 += 4) {
        const float* xs[4];
        for (int j = 0; j < 4; j++) xs[j] = x + (long)(t0 + j < T ? t0 + j : t0) * K;
        float r[16];
        tile_4x4_512(ws, xs, K, r);
        for (int i = 0; i < 4 && 4 * quad + i < N; i++)
          for (int j = 0; j < 4 && t0 + j < T; j++) store(out, res, (long)(t0 + j) * ldo + ns[i], r[i * 4 + j]);
      }
    }
    free(rows);
  }
}
#endif

/* x . row for one Q4_1 row; xsum[b] is the sum of block b of x */
static float dot_q4_1(const unsigned char* row, const float* x, const float* xsum, int nb) {
  float mins = 0.0f;
#if SIMD
  __m256 acc = _mm256_setzero_ps();
  const __m128i low4 = _mm_set1_epi8(15);
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    const float* xb = x + b * QK;
    __m128i q = _mm_loadu_si128((const __m128i*)(blk + 4));
    __m128i lo = _mm_and_si128(q, low4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), low4);
    __m256 s = block_dot8(u8_to_f32(lo), u8_to_f32(_mm_srli_si128(lo, 8)), u8_to_f32(hi),
                          u8_to_f32(_mm_srli_si128(hi, 8)), xb);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_at(blk)), s, acc);
    mins += half_at(blk + 2) * xsum[b];
  }
  return hsum8(acc) + mins;
#else
  float acc = 0.0f;
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    const float* xb = x + b * QK;
    float s = 0.0f;
    for (int j = 0; j < 16; j++) s += xb[j] * (float)(blk[4 + j] & 15) + xb[16 + j] * (float)(blk[4 + j] >> 4);
    acc += half_at(blk) * s;
    mins += half_at(blk + 2) * xsum[b];
  }
  return acc + mins;
#endif
}

static float dot_q8_0(const unsigned char* row, const float* x, int nb) {
#if SIMD
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    const float* xb = x + b * QK;
    __m128i q0 = _mm_loadu_si128((const __m128i*)(blk + 2)), q1 = _mm_loadu_si128((const __m128i*)(blk + 18));
    __m256 s = block_dot8(i8_to_f32(q0), i8_to_f32(_mm_srli_si128(q0, 8)), i8_to_f32(q1),
                          i8_to_f32(_mm_srli_si128(q1, 8)), xb);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_at(blk)), s, acc);
  }
  return hsum8(acc);
#else
  float acc = 0.0f;
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    float s = 0.0f;
    for (int j = 0; j < QK; j++) s += x[b * QK + j] * (float)(signed char)blk[2 + j];
    acc += half_at(blk) * s;
  }
  return acc;
#endif
}

#if SIMD
/* rows up to which the few-rows product beats the prompt kernel (measured at SmolLM2's shapes: AVX-512's prompt
   kernel, with its 4 x 4 tiles, is faster from 5 rows on) */
enum { SMALL_T = 8, FEW_ROWS_MAX = SIMD512 ? 4 : 8 };
/* r[t] = x[t] . row for T <= SMALL_T activation rows (x row stride K, xsum[t * nb + b] block sums): each block is
   unpacked once for all rows, and each row's sum runs exactly as dot_q4_1 / dot_q8_0 computes it alone, so a row
   decoded in a batch gets the same bits as decoded by itself */
#ifndef ALWAYS_INLINE
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#endif
ALWAYS_INLINE void dots_q4_1(const unsigned char* row, const float* x, const float* xsum, const int T, int K, int nb,
                             float* r) {
  __m256 acc[SMALL_T];
  float mins[SMALL_T];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) { acc[t] = _mm256_setzero_ps(); mins[t] = 0.0f; }
  const __m128i low4 = _mm_set1_epi8(15);
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q4_1_SIZE;
    __m128i q = _mm_loadu_si128((const __m128i*)(blk + 4));
    __m128i lo = _mm_and_si128(q, low4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), low4);
    const __m256 l0 = u8_to_f32(lo), l1 = u8_to_f32(_mm_srli_si128(lo, 8));
    const __m256 h0 = u8_to_f32(hi), h1 = u8_to_f32(_mm_srli_si128(hi, 8));
    const __m256 d = _mm256_set1_ps(half_at(blk));
    const float m = half_at(blk + 2);
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] = _mm256_fmadd_ps(d, block_dot8(l0, l1, h0, h1, x + (long)t * K + b * QK), acc[t]);
      mins[t] = fmaf(m, xsum[(long)t * nb + b], mins[t]);  /* as the one-row kernel's contracted mins += */
    }
  }
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) r[t] = hsum8(acc[t]) + mins[t];
}

ALWAYS_INLINE void dots_q8_0(const unsigned char* row, const float* x, const int T, int K, int nb, float* r) {
  __m256 acc[SMALL_T];
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const unsigned char* blk = row + b * Q8_0_SIZE;
    __m128i q0 = _mm_loadu_si128((const __m128i*)(blk + 2)), q1 = _mm_loadu_si128((const __m128i*)(blk + 18));
    const __m256 a0 = i8_to_f32(q0), a1 = i8_to_f32(_mm_srli_si128(q0, 8));
    const __m256 c0 = i8_to_f32(q1), c1 = i8_to_f32(_mm_srli_si128(q1, 8));
    const __m256 d = _mm256_set1_ps(half_at(blk));
    #pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] = _mm256_fmadd_ps(d, block_dot8(a0, a1, c0, c1, x + (long)t * K + b * QK), acc[t]);
    }
  }
  #pragma GCC unroll 8
  for (int t = 0; t < T; t++) r[t] = hsum8(acc[t]);
}
/* the few-rows products with T a constant in each case, so their loops over rows unroll into registers */
static void few_rows(int type, const unsigned char* row, const float* x, const float* xsum, int T, int K, int nb,
                     float* r) {
#if SIMD512
#define FEW_ROWS(n) case n: \
    if (type == TYPE_Q4_1) dots_q4_1_512(row, x, xsum, n, K, nb, r); else dots_q8_0_512(row, x, n, K, nb, r); break;
#else
#define FEW_ROWS(n) case n: \
    if (type == TYPE_Q4_1) dots_q4_1(row, x, xsum, n, K, nb, r); else dots_q8_0(row, x, n, K, nb, r); break;
#endif
  switch (T) { FEW_ROWS(1) FEW_ROWS(2) FEW_ROWS(3) FEW_ROWS(4) FEW_ROWS(5) FEW_ROWS(6) FEW_ROWS(7) FEW_ROWS(8) }
#undef FEW_ROWS
}
#endif

/* r[i] = w0 . xs[i], r[4 + i] = w1 . xs[i] for the four activation rows xs; K is a multiple of 32 */
static void tile_2x4(const float* w0, const float* w1, const float* const* xs, int K, float* r) {
#if SIMD
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (int k = 0; k < K; k += 8) {
    __m256 v = _mm256_loadu_ps(w0 + k), u = _mm256_loadu_ps(w1 + k);
    __m256 x0 = _mm256_loadu_ps(xs[0] + k), x1 = _mm256_loadu_ps(xs[1] + k);
    __m256 x2 = _mm256_loadu_ps(xs[2] + k), x3 = _mm256_loadu_ps(xs[3] + k);
    a0 = _mm256_fmadd_ps(v, x0, a0); a1 = _mm256_fmadd_ps(v, x1, a1);
    a2 = _mm256_fmadd_ps(v, x2, a2); a3 = _mm256_fmadd_ps(v, x3, a3);
    b0 = _mm256_fmadd_ps(u, x0, b0); b1 = _mm256_fmadd_ps(u, x1, b1);
    b2 = _mm256_fmadd_ps(u, x2, b2); b3 = _mm256_fmadd_ps(u, x3, b3);
  }
  r[0] = hsum8(a0); r[1] = hsum8(a1); r[2] = hsum8(a2); r[3] = hsum8(a3);
  r[4] = hsum8(b0); r[5] = hsum8(b1); r[6] = hsum8(b2); r[7] = hsum8(b3);
#else
  for (int i = 0; i < 8; i++) r[i] = 0.0f;
  for (int k = 0; k < K; k++)
    for (int i = 0; i < 4; i++) { r[i] += w0[k] * xs[i][k]; r[4 + i] += w1[k] * xs[i][k]; }
#endif
}

/* out[t * ldo + n] = x[t] . W[n] (+ res[t * ldo + n]) for t < T, n < N; W is N rows of K/32 raw blocks */
void quant_matmul(int type, float* out, const float* x, const unsigned char* w, const float* res,
                  int T, int N, int K, int ldo, long parallel_work) {
  const int nb = K / QK, threads = (long)T * N * K > parallel_work;
  const long row_bytes = (long)nb * (type == TYPE_Q4_1 ? Q4_1_SIZE : Q8_0_SIZE);
  if (T == 1) {
    float* xsum = malloc(sizeof(float) * (nb > 0 ? nb : 1));
    for (int b = 0; b < nb; b++) {
      float s = 0.0f;
      for (int j = 0; j < QK; j++) s += x[b * QK + j];
      xsum[b] = s;
    }
    #pragma omp parallel for schedule(dynamic, 32) if (threads)
    for (int n = 0; n < N; n++) {
      const unsigned char* row = w + n * row_bytes;
#if SIMD512
      store(out, res, n, type == TYPE_Q4_1 ? dot_q4_1_512(row, x, xsum, nb) : dot_q8_0_512(row, x, nb));
#else
      store(out, res, n, type == TYPE_Q4_1 ? dot_q4_1(row, x, xsum, nb) : dot_q8_0(row, x, nb));
#endif
    }
    free(xsum);
    return;
  }
#if SIMD
  if (T <= FEW_ROWS_MAX) {  /* a batched decode step: one row per sequence */
    float* xsum = malloc(sizeof(float) * T * (nb > 0 ? nb : 1));
    for (int t = 0; t < T; t++)
      for (int b = 0; b < nb; b++) {
        float s = 0.0f;
        for (int j = 0; j < QK; j++) s += x[(long)t * K + b * QK + j];
        xsum[(long)t * nb + b] = s;
      }
    #pragma omp parallel for schedule(dynamic, 32) if (threads)
    for (int n = 0; n < N; n++) {
      const unsigned char* row = w + n * row_bytes;
      float r[SMALL_T];
      few_rows(type, row, x, xsum, T, K, nb, r);
      for (int t = 0; t < T; t++) store(out, res, (long)t * ldo + n, r[t]);
    }
    free(xsum);
    return;
  }
#endif
#if SIMD512
  gemm_512(type, out, x, w, res, T, N, K, ldo, row_bytes, threads);
  return;
#endif
  #pragma omp parallel if (threads)
  {
    float* rows = malloc(sizeof(float) * 2 * (K > 0 ? K : 1));
    #pragma omp for schedule(dynamic, 4)
    for (int pair = 0; pair < (N + 1) / 2; pair++) {
      const int n0 = 2 * pair, n1 = n0 + 1 < N ? n0 + 1 : n0;  /* an odd last row is decoded twice */
      for (int i = 0; i < 2; i++) {
        const unsigned char* row = w + (i ? n1 : n0) * row_bytes;
        if (type == TYPE_Q4_1) decode_q4_1(row, nb, rows + i * K); else decode_q8_0(row, nb, rows + i * K);
      }
      for (int t0 = 0; t0 < T; t0 += 4) {
        const float* xs[4];
        for (int i = 0; i < 4; i++) xs[i] = x + (long)(t0 + i < T ? t0 + i : t0) * K;
        float r[8];
        tile_2x4(rows, rows + K, xs, K, r);
        for (int i = 0; i < 4 && t0 + i < T; i++) {
          store(out, res, (long)(t0 + i) * ldo + n0, r[i]);
          if (n1 != n0) store(out, res, (long)(t0 + i) * ldo + n1, r[4 + i]);
        }
      }
    }
    free(rows);
  }
}
"""

_LIBS: dict[tuple[int, str], ctypes.CDLL] = {}


def supported(device: str, weights: list[QuantWeight]) -> bool:
    """Whether these kernels can compute every one of `weights` on `device`."""
    return get_device(device).name == "CPU" and all(w.ggml_type in KERNEL_TYPES for w in weights)


def native_function(device: Device, source: str, name: str, argtypes: list[Any]) -> Any:
    """The C function `name` of `source`, compiled for the CPU device (disk-cached, loaded once per process)."""
    lib = _LIBS.get((id(device), source))
    if lib is None:
        lib = _LIBS[(id(device), source)] = device.load_library(source)
    fn = getattr(lib, name)
    fn.argtypes, fn.restype = argtypes, None
    return fn


def _kernel(device: Device) -> Any:
    return native_function(device, SOURCE, "quant_matmul",
                           [ctypes.c_int] + [ctypes.c_void_p] * 4 + [ctypes.c_int] * 4 + [ctypes.c_long])


@dataclass
class MatmulLaunch:
    """One kernel call over fixed buffers: out[:, column:column + N] = x @ W.T (+ residual, same layout as out)."""
    out: Buffer
    x: Buffer
    weight: Buffer
    residual: Buffer | None
    ggml_type: GGMLType
    rows: int           # T: activation rows
    features: int       # N: weight rows (output features)
    column: int = 0     # first output column written
    _fn: Any = field(init=False, repr=False)
    _args: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ldo, k = self.out.shape[-1], self.x.shape[-1]
        if self.column + self.features > ldo or self.out.size != self.rows * ldo or self.x.size != self.rows * k:
            raise ShapeError(f"quantized matmul: x {self.x.shape}, {self.features} features at column {self.column} "
                             f"do not fit output {self.out.shape}")
        if self.residual is not None and self.residual.shape != self.out.shape:
            raise ShapeError(f"quantized matmul: residual {self.residual.shape} is not shaped like {self.out.shape}")
        device = self.out.device

        def address(b: Buffer) -> int:
            return device.address(b.handle)
        out_at = address(self.out) + self.column * self.out.dtype.itemsize
        res_at = address(self.residual) + self.column * 4 if self.residual is not None else None
        self._fn = _kernel(device)
        self._args = (KERNEL_TYPES[self.ggml_type], out_at, address(self.x), address(self.weight), res_at,
                      self.rows, self.features, k, ldo, PARALLEL_WORK)

    def run(self, device: Device | None = None) -> Buffer:
        self._fn(*self._args)
        return self.out


def launch(out: Tensor, x: Tensor, w: QuantWeight, residual: Tensor | None = None, column: int = 0) -> MatmulLaunch:
    """A launch writing x @ w.T into columns [column, column + w.shape[0]) of `out`; all tensors realized, on CPU."""
    if x.shape[-1] != w.shape[1] or w.shape[1] % LAYOUTS[w.ggml_type].block_size:
        raise ShapeError(f"quantized matmul: input {x.shape} does not match weight {w.shape} ({w.ggml_type.name})")
    for t in (out, x) + ((residual,) if residual is not None else ()):
        if t.dtype is not dt.float32:
            raise ShapeError(f"quantized matmul: float32 activations only, got {t.dtype.name}")
    bufs = [t.realize().node.arg for t in (out, x, w.data)]
    res = residual.realize().node.arg if residual is not None else None
    return MatmulLaunch(bufs[0], bufs[1], bufs[2], res, w.ggml_type, x.shape[0], w.shape[0], column)


def linear(x: Tensor, w: QuantWeight, residual: Tensor | None = None) -> Tensor:
    """x @ dequantize(w).T (+ residual) computed now by the native kernel; x is (T, in_features)."""
    out = Tensor.from_bytes(bytes(x.shape[0] * w.shape[0] * 4), dt.float32, (x.shape[0], w.shape[0]), x.device)
    launch(out, x.contiguous(), w, residual.contiguous() if residual is not None else None).run()
    return out
