// plan: block conv_0 grid=(256, 1, 1) block=(32, 1, 1) smem=0
static inline float bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }
static inline ushort f32_to_bf16(float f) { uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (ushort)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_to_f32(ushort b) { return vload_half(0, (const __private half*)&b); }
static inline ushort f32_to_f16(float f) { ushort b; vstore_half_rte(f, 0, (__private half*)&b); return b; }
static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

__kernel void __attribute__((reqd_work_group_size(32, 1, 1))) conv_0(__global float* p0, __global const float* p1, __global const float* p2) {
  __local float red_float[32];
  const int tid = (int)get_local_id(0);
  const int bidx = (int)get_group_id(0);
  if (bidx >= 256) { return; }
  const int g1 = (bidx / 64) % 4;
  const int g2 = (bidx / 8) % 8;
  const int g3 = (bidx / 1) % 8;
  int v13 = (g1 * (64));
  int v14 = (g1 * (27));
  int v16 = (g2 * (8));
  int v17 = (v13 + v16);
  int v18 = (g2 * (10));
  int v20 = (v17 + g3);
  float v21 = ((float)0x0.0p+0);
  for (int f0 = tid; f0 < 27; f0 += 32) {
    const int r0 = (f0 / 9) % 3;
    const int r1 = (f0 / 3) % 3;
    const int r2 = f0 % 3;
    int v23 = (r0 * (100));
    int v24 = (r0 * (9));
    int v25 = (v14 + v24);
    int v27 = (r1 * (10));
    int v28 = (v23 + v27);
    int v29 = (v28 + v18);
    int v30 = (r1 * (3));
    int v31 = (v25 + v30);
    int v33 = (v29 + r2);
    int v34 = (v33 + g3);
    float v35 = p1[v34];
    int v36 = (v31 + r2);
    float v37 = p2[v36];
    float v38 = (v35 * v37);
    v21 = (v21 + v38);
  }
  red_float[tid] = v21;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 16) { red_float[tid] = (red_float[tid] + red_float[tid + 16]); }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 8) { red_float[tid] = (red_float[tid] + red_float[tid + 8]); }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 4) { red_float[tid] = (red_float[tid] + red_float[tid + 4]); }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 2) { red_float[tid] = (red_float[tid] + red_float[tid + 2]); }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 1) { red_float[tid] = (red_float[tid] + red_float[tid + 1]); }
  barrier(CLK_LOCAL_MEM_FENCE);
  v21 = red_float[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  bool v43 = (((float)0x0.0p+0) < v21);
  bool v44 = (v21 != v21);
  bool v45 = (v43 | v44);
  float v46 = (v45 ? v21 : ((float)0x0.0p+0));
  if (tid == 0) {
    p0[v20] = v46;
  }
}
