// plan: block rowsum_0 grid=(64, 1, 1) block=(64, 1, 1) smem=0
static inline float bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }
static inline ushort f32_to_bf16(float f) { uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (ushort)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_to_f32(ushort b) { return vload_half(0, (const __private half*)&b); }
static inline ushort f32_to_f16(float f) { ushort b; vstore_half_rte(f, 0, (__private half*)&b); return b; }
static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

__kernel void __attribute__((reqd_work_group_size(64, 1, 1))) rowsum_0(__global float* p0, __global const float* p1) {
  __local float red_float[64];
  const int tid = (int)get_local_id(0);
  const int bidx = (int)get_group_id(0);
  if (bidx >= 64) { return; }
  const int g0 = (bidx / 1) % 64;
  int v5 = (g0 * (48));
  float v6 = ((float)0x0.0p+0);
  for (int f0 = tid; f0 < 48; f0 += 64) {
    const int r0 = f0 % 48;
    int v8 = (v5 + r0);
    float v9 = p1[v8];
    v6 = (v6 + v9);
  }
  red_float[tid] = v6;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid < 32) { red_float[tid] = (red_float[tid] + red_float[tid + 32]); }
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
  v6 = red_float[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (tid == 0) {
    p0[g0] = v6;
  }
}
