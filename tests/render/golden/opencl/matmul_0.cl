// plan: matmul matmul_0 grid=(1, 1, 1) block=(256, 1, 1) smem=0
static inline float bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }
static inline ushort f32_to_bf16(float f) { uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (ushort)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_to_f32(ushort b) { return vload_half(0, (const __private half*)&b); }
static inline ushort f32_to_f16(float f) { ushort b; vstore_half_rte(f, 0, (__private half*)&b); return b; }
static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

__kernel void __attribute__((reqd_work_group_size(256, 1, 1))) matmul_0(__global float* p0, __global const float* p1, __global const float* p2) {
  __local float As[1056];
  __local float Bs[1056];
  const int tid = (int)get_local_id(0);
  const int bidx = (int)get_group_id(0);
  const int tx = tid % 16;
  const int ty = tid / 16;
  const int bz = bidx / 1;
  const int m0 = ((bidx / 1) % 1) * 128;
  const int n0 = (bidx % 1) * 128;
  float4 acc0_0 = (float4)(0.0f);
  float4 acc0_1 = (float4)(0.0f);
  float4 acc1_0 = (float4)(0.0f);
  float4 acc1_1 = (float4)(0.0f);
  float4 acc2_0 = (float4)(0.0f);
  float4 acc2_1 = (float4)(0.0f);
  float4 acc3_0 = (float4)(0.0f);
  float4 acc3_1 = (float4)(0.0f);
  float4 acc4_0 = (float4)(0.0f);
  float4 acc4_1 = (float4)(0.0f);
  float4 acc5_0 = (float4)(0.0f);
  float4 acc5_1 = (float4)(0.0f);
  float4 acc6_0 = (float4)(0.0f);
  float4 acc6_1 = (float4)(0.0f);
  float4 acc7_0 = (float4)(0.0f);
  float4 acc7_1 = (float4)(0.0f);
  for (int k0 = 0; k0 < 48; k0 += 8) {
    for (int it = 0; it < 1; it += 1) {
      const int c = tid + it * 256;
      const int ck = (c % 2) * 4;
      const int cr = c / 2;
      const float4 cv = vload4(0, p1 + (0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1));
      As[(ck + 0) * 132 + cr] = cv.x;
      As[(ck + 1) * 132 + cr] = cv.y;
      As[(ck + 2) * 132 + cr] = cv.z;
      As[(ck + 3) * 132 + cr] = cv.w;
    }
    for (int it = 0; it < 1; it += 1) {
      const int c = tid + it * 256;
      const int ck = c / 32;
      const int cr = (c % 32) * 4;
      const float4 cv = vload4(0, p2 + (0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80));
      vstore4(cv, 0, Bs + (ck * 132 + cr));
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < 8; kk += 1) {
      const float4 ag0 = vload4(0, As + (kk * 132 + (ty + 0) * 4));
      const float4 ag1 = vload4(0, As + (kk * 132 + (ty + 16) * 4));
      const float av0 = ag0.x;
      const float av1 = ag0.y;
      const float av2 = ag0.z;
      const float av3 = ag0.w;
      const float av4 = ag1.x;
      const float av5 = ag1.y;
      const float av6 = ag1.z;
      const float av7 = ag1.w;
      const float4 bv0 = vload4(0, Bs + (kk * 132 + (tx + 0) * 4));
      const float4 bv1 = vload4(0, Bs + (kk * 132 + (tx + 16) * 4));
      acc0_0 = (float4)(av0) * bv0 + acc0_0;
      acc0_1 = (float4)(av0) * bv1 + acc0_1;
      acc1_0 = (float4)(av1) * bv0 + acc1_0;
      acc1_1 = (float4)(av1) * bv1 + acc1_1;
      acc2_0 = (float4)(av2) * bv0 + acc2_0;
      acc2_1 = (float4)(av2) * bv1 + acc2_1;
      acc3_0 = (float4)(av3) * bv0 + acc3_0;
      acc3_1 = (float4)(av3) * bv1 + acc3_1;
      acc4_0 = (float4)(av4) * bv0 + acc4_0;
      acc4_1 = (float4)(av4) * bv1 + acc4_1;
      acc5_0 = (float4)(av5) * bv0 + acc5_0;
      acc5_1 = (float4)(av5) * bv1 + acc5_1;
      acc6_0 = (float4)(av6) * bv0 + acc6_0;
      acc6_1 = (float4)(av6) * bv1 + acc6_1;
      acc7_0 = (float4)(av7) * bv0 + acc7_0;
      acc7_1 = (float4)(av7) * bv1 + acc7_1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc0_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc0_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc0_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc0_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc0_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc0_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc0_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc0_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc1_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc1_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc1_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc1_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc1_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc1_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc1_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc1_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc2_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc2_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc2_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc2_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc2_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc2_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc2_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc2_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc3_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc3_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc3_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc3_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc3_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc3_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc3_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 0) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc3_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc4_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc4_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc4_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc4_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc4_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc4_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc4_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc4_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc5_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc5_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc5_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc5_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc5_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc5_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc5_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 1;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc5_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc6_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc6_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc6_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc6_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc6_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc6_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc6_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 2;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc6_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc7_0.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc7_0.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc7_0.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc7_0.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      const float ev = acc7_1.x;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      const float ev = acc7_1.y;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      const float ev = acc7_1.z;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    const int em = m0 + (ty + 16) * 4 + 3;
    const int en = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      const float ev = acc7_1.w;
      int v7 = (em * (80));
      int v8 = (em * (48));
      int v10 = (v7 + en);
      p0[v10] = ev;
    }
  }
}
