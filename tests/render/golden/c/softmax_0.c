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
typedef float float8 __attribute__((vector_size(32), aligned(4)));
typedef float float16 __attribute__((vector_size(64), aligned(4)));

void softmax_0(float* p0, const float* p1) {
  for (int g0 = 0; g0 < 64; g0++) {
    int v5 = (g0 * (48));
    float v6 = (-INFINITY);
    for (int r0 = 0; r0 < 48; r0++) {
      int v8 = (v5 + r0);
      float v9 = p1[v8];
      v6 = ((v6 > v9 || v6 != v6) ? v6 : v9);
    }
    float v12 = ((float)0x0.0p+0);
    #pragma omp simd reduction(+:v12)
    for (int r1 = 0; r1 < 48; r1++) {
      int v14 = (v5 + r1);
      float v15 = p1[v14];
      float v16 = (v15 - v6);
      float v17 = expf(v16);
      v12 = (v12 + v17);
    }
    for (int g1 = 0; g1 < 48; g1++) {
      int v21 = (v5 + g1);
      float v22 = p1[v21];
      float v23 = (v22 - v6);
      float v24 = expf(v23);
      float v25 = (v24 / v12);
      p0[v21] = v25;
    }
  }
}
