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
