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
