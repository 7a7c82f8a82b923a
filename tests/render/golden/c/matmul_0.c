#include <math.h>
#include <string.h>
static inline float bf16_to_f32(unsigned short b) { unsigned int u = ((unsigned int)b) << 16; float f;
  memcpy(&f, &u, 4); return f; }
static inline unsigned short f32_to_bf16(float f) { unsigned int u; memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (unsigned short)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_round(float f) { return (float)(_Float16)f; }
typedef float float4 __attribute__((vector_size(16), aligned(4)));
typedef int bgmask4 __attribute__((vector_size(16)));
static inline float4 bg_sel4(bgmask4 m, float4 a, float4 b) { return (float4)((m & (bgmask4)a) | (~m & (bgmask4)b)); }
static inline float4 bg_max4(float4 a, float4 b) { return bg_sel4((a > b) | (a != a), a, b); }
static inline float4 bg_cosf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = cosf(x[i]); return r; }
static inline float4 bg_erff4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = erff(x[i]); return r; }
static inline float4 bg_expf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = expf(x[i]); return r; }
static inline float4 bg_exp2f4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = exp2f(x[i]); return r; }
static inline float4 bg_logf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = logf(x[i]); return r; }
static inline float4 bg_log2f4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = log2f(x[i]); return r; }
static inline float4 bg_sinf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = sinf(x[i]); return r; }
static inline float4 bg_sqrtf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = sqrtf(x[i]); return r; }
static inline float4 bg_tanhf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = tanhf(x[i]); return r; }
static inline float4 bg_truncf4(float4 x) { float4 r; for (int i = 0; i < 4; i++) r[i] = truncf(x[i]); return r; }
static inline float4 bg_even4(const float* p) { float4 lo = *(const float4*)p, hi = *(const float4*)(p + 3);
#ifdef __clang__
  return __builtin_shufflevector(lo, hi, 0, 2, 5, 7);
#else
  return __builtin_shuffle(lo, hi, (bgmask4){0, 2, 5, 7});
#endif
}
typedef float float8 __attribute__((vector_size(32), aligned(4)));
typedef int bgmask8 __attribute__((vector_size(32)));
static inline float8 bg_sel8(bgmask8 m, float8 a, float8 b) { return (float8)((m & (bgmask8)a) | (~m & (bgmask8)b)); }
static inline float8 bg_max8(float8 a, float8 b) { return bg_sel8((a > b) | (a != a), a, b); }
static inline float8 bg_cosf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = cosf(x[i]); return r; }
static inline float8 bg_erff8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = erff(x[i]); return r; }
static inline float8 bg_expf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = expf(x[i]); return r; }
static inline float8 bg_exp2f8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = exp2f(x[i]); return r; }
static inline float8 bg_logf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = logf(x[i]); return r; }
static inline float8 bg_log2f8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = log2f(x[i]); return r; }
static inline float8 bg_sinf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = sinf(x[i]); return r; }
static inline float8 bg_sqrtf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = sqrtf(x[i]); return r; }
static inline float8 bg_tanhf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = tanhf(x[i]); return r; }
static inline float8 bg_truncf8(float8 x) { float8 r; for (int i = 0; i < 8; i++) r[i] = truncf(x[i]); return r; }
static inline float8 bg_even8(const float* p) { float8 lo = *(const float8*)p, hi = *(const float8*)(p + 7);
#ifdef __clang__
  return __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 9, 11, 13, 15);
#else
  return __builtin_shuffle(lo, hi, (bgmask8){0, 2, 4, 6, 9, 11, 13, 15});
#endif
}
typedef float float16 __attribute__((vector_size(64), aligned(4)));
typedef int bgmask16 __attribute__((vector_size(64)));
static inline float16 bg_sel16(bgmask16 m, float16 a, float16 b) { return (float16)((m & (bgmask16)a) | (~m & (bgmask16)b)); }
static inline float16 bg_max16(float16 a, float16 b) { return bg_sel16((a > b) | (a != a), a, b); }
static inline float16 bg_cosf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = cosf(x[i]); return r; }
static inline float16 bg_erff16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = erff(x[i]); return r; }
static inline float16 bg_expf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = expf(x[i]); return r; }
static inline float16 bg_exp2f16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = exp2f(x[i]); return r; }
static inline float16 bg_logf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = logf(x[i]); return r; }
static inline float16 bg_log2f16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = log2f(x[i]); return r; }
static inline float16 bg_sinf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = sinf(x[i]); return r; }
static inline float16 bg_sqrtf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = sqrtf(x[i]); return r; }
static inline float16 bg_tanhf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = tanhf(x[i]); return r; }
static inline float16 bg_truncf16(float16 x) { float16 r; for (int i = 0; i < 16; i++) r[i] = truncf(x[i]); return r; }
static inline float16 bg_even16(const float* p) { float16 lo = *(const float16*)p, hi = *(const float16*)(p + 15);
#ifdef __clang__
  return __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
#else
  return __builtin_shuffle(lo, hi, (bgmask16){0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31});
#endif
}

void matmul_0(float* p0, const float* p1, const float* p2) {
  #pragma omp parallel for schedule(static)
  for (int g0 = 0; g0 < 64; g0++) {
    int v7 = (g0 * (80));
    int v8 = (g0 * (48));
    for (int g1 = 0; g1 < 80; g1++) {
      int v10 = (v7 + g1);
      float v11 = ((float)0x0.0p+0);
      #pragma omp simd reduction(+:v11)
      for (int r0 = 0; r0 < 48; r0++) {
        int v13 = (v8 + r0);
        float v14 = p1[v13];
        int v15 = (r0 * (80));
        int v16 = (v15 + g1);
        float v17 = p2[v16];
        float v18 = (v14 * v17);
        v11 = (v11 + v18);
      }
      p0[v10] = v11;
    }
  }
}
