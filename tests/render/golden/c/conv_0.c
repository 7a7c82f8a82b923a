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

void conv_0(float* p0, const float* p1, const float* p2) {
  for (int g1 = 0; g1 < 4; g1++) {
    int v13 = (g1 * (64));
    int v14 = (g1 * (27));
    for (int g2 = 0; g2 < 8; g2++) {
      int v16 = (g2 * (8));
      int v17 = (v13 + v16);
      int v18 = (g2 * (10));
      for (int g3 = 0; g3 < 8; g3++) {
        int v20 = (v17 + g3);
        float v21 = ((float)0x0.0p+0);
        for (int r0 = 0; r0 < 3; r0++) {
          int v23 = (r0 * (100));
          int v24 = (r0 * (9));
          int v25 = (v14 + v24);
          for (int r1 = 0; r1 < 3; r1++) {
            int v27 = (r1 * (10));
            int v28 = (v23 + v27);
            int v29 = (v28 + v18);
            int v30 = (r1 * (3));
            int v31 = (v25 + v30);
            #pragma omp simd reduction(+:v21)
            for (int r2 = 0; r2 < 3; r2++) {
              int v33 = (v29 + r2);
              int v34 = (v33 + g3);
              float v35 = p1[v34];
              int v36 = (v31 + r2);
              float v37 = p2[v36];
              float v38 = (v35 * v37);
              v21 = (v21 + v38);
            }
          }
        }
        _Bool v43 = (((float)0x0.0p+0) < v21);
        _Bool v44 = (v21 != v21);
        _Bool v45 = (v43 | v44);
        float v46 = (v45 ? v21 : ((float)0x0.0p+0));
        p0[v20] = v46;
      }
    }
  }
}
