// plan: vector chain_0 grid=(3, 1, 1) block=(256, 1, 1) smem=0
static inline float bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }
static inline ushort f32_to_bf16(float f) { uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (ushort)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_to_f32(ushort b) { return vload_half(0, (const __private half*)&b); }
static inline ushort f32_to_f16(float f) { ushort b; vstore_half_rte(f, 0, (__private half*)&b); return b; }
static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

__kernel void __attribute__((reqd_work_group_size(256, 1, 1))) chain_0(__global float* p0, __global const float* p1, __global const float* p2) {
  const int tid = (int)get_local_id(0);
  const int bidx = (int)get_group_id(0);
  const int t = bidx * 256 + tid;
  if (t >= 768) { return; }
  const float4 lv7 = vload4(t, p1);
  float sv0, sv1, sv2, sv3;
  {
    const int g0 = 4 * t + 0;
    float v8 = (lv7.s0 * ((float)0x1.0000000000000p+1));
    float v9 = exp(lv7.s0);
    int v10 = (g0 % (48));
    float v11 = p2[v10];
    float v12 = (v9 * v11);
    float v13 = (v8 + v12);
    sv0 = v13;
  }
  {
    const int g0 = 4 * t + 1;
    float v8 = (lv7.s1 * ((float)0x1.0000000000000p+1));
    float v9 = exp(lv7.s1);
    int v10 = (g0 % (48));
    float v11 = p2[v10];
    float v12 = (v9 * v11);
    float v13 = (v8 + v12);
    sv1 = v13;
  }
  {
    const int g0 = 4 * t + 2;
    float v8 = (lv7.s2 * ((float)0x1.0000000000000p+1));
    float v9 = exp(lv7.s2);
    int v10 = (g0 % (48));
    float v11 = p2[v10];
    float v12 = (v9 * v11);
    float v13 = (v8 + v12);
    sv2 = v13;
  }
  {
    const int g0 = 4 * t + 3;
    float v8 = (lv7.s3 * ((float)0x1.0000000000000p+1));
    float v9 = exp(lv7.s3);
    int v10 = (g0 % (48));
    float v11 = p2[v10];
    float v12 = (v9 * v11);
    float v13 = (v8 + v12);
    sv3 = v13;
  }
  vstore4((float4)(sv0, sv1, sv2, sv3), t, p0);
}
