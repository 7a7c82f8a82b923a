// plan: matmul matmul_0 grid=(1, 1, 1) block=(256, 1, 1) smem=0
#ifndef BAREGRAD_CUDA_PREAMBLE
#define BAREGRAD_CUDA_PREAMBLE
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
__device__ __forceinline__ float f16_to_f32(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f; }
__device__ __forceinline__ unsigned short f32_to_f16(float f) { unsigned short h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }
__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __uint_as_float(((unsigned int)b) << 16); }
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
#if __CUDA_ARCH__ >= 800
  unsigned short h; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h;
#else
  unsigned int u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (unsigned short)(u >> 16);
#endif
}
__device__ __forceinline__ float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
// a union, not memcpy: NVRTC has neither <cstring> nor __builtin_memcpy
template <class T, class F> __device__ __forceinline__ T bg_bitcast(F x) { union { F f; T t; } u; u.f = x;
  return u.t; }
#endif

extern "C" __global__ void __launch_bounds__(256) matmul_0(float* p0, const float* p1, const float* p2) {
  const int tid = threadIdx.x;
  const int bidx = blockIdx.x;
  __shared__ __align__(16) float As[1056];
  __shared__ __align__(16) float Bs[1056];
  const int tx = tid % 16;
  const int ty = tid / 16;
  const int bz = bidx / 1;
  const int m0 = ((bidx / 1) % 1) * 128;
  const int n0 = (bidx % 1) * 128;
  float4 acc0_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc0_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc1_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc1_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc2_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc2_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc3_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc3_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc4_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc4_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc5_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc5_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc6_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc6_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc7_0 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float4 acc7_1 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int k0 = 0; k0 < 48; k0 += 8) {
    #pragma unroll
    for (int it = 0; it < 1; it += 1) {
      const int c = tid + it * 256;
      const int ck = (c % 2) * 4;
      const int cr = c / 2;
      const float4 cv = *(const float4*)(p1 + (0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1));
      As[(ck + 0) * 132 + cr] = cv.x;
      As[(ck + 1) * 132 + cr] = cv.y;
      As[(ck + 2) * 132 + cr] = cv.z;
      As[(ck + 3) * 132 + cr] = cv.w;
    }
    #pragma unroll
    for (int it = 0; it < 1; it += 1) {
      const int c = tid + it * 256;
      const int ck = c / 32;
      const int cr = (c % 32) * 4;
      const float4 cv = *(const float4*)(p2 + (0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80));
      *(float4*)&Bs[ck * 132 + cr] = cv;
    }
    __syncthreads();
    #pragma unroll
    for (int kk = 0; kk < 8; kk += 1) {
      const float4 ag0 = *(const float4*)&As[kk * 132 + (ty + 0) * 4];
      const float4 ag1 = *(const float4*)&As[kk * 132 + (ty + 16) * 4];
      const float av0 = ag0.x;
      const float av1 = ag0.y;
      const float av2 = ag0.z;
      const float av3 = ag0.w;
      const float av4 = ag1.x;
      const float av5 = ag1.y;
      const float av6 = ag1.z;
      const float av7 = ag1.w;
      const float4 bv0 = *(const float4*)&Bs[kk * 132 + (tx + 0) * 4];
      const float4 bv1 = *(const float4*)&Bs[kk * 132 + (tx + 16) * 4];
      acc0_0.x = fmaf(av0, bv0.x, acc0_0.x);
      acc0_0.y = fmaf(av0, bv0.y, acc0_0.y);
      acc0_0.z = fmaf(av0, bv0.z, acc0_0.z);
      acc0_0.w = fmaf(av0, bv0.w, acc0_0.w);
      acc0_1.x = fmaf(av0, bv1.x, acc0_1.x);
      acc0_1.y = fmaf(av0, bv1.y, acc0_1.y);
      acc0_1.z = fmaf(av0, bv1.z, acc0_1.z);
      acc0_1.w = fmaf(av0, bv1.w, acc0_1.w);
      acc1_0.x = fmaf(av1, bv0.x, acc1_0.x);
      acc1_0.y = fmaf(av1, bv0.y, acc1_0.y);
      acc1_0.z = fmaf(av1, bv0.z, acc1_0.z);
      acc1_0.w = fmaf(av1, bv0.w, acc1_0.w);
      acc1_1.x = fmaf(av1, bv1.x, acc1_1.x);
      acc1_1.y = fmaf(av1, bv1.y, acc1_1.y);
      acc1_1.z = fmaf(av1, bv1.z, acc1_1.z);
      acc1_1.w = fmaf(av1, bv1.w, acc1_1.w);
      acc2_0.x = fmaf(av2, bv0.x, acc2_0.x);
      acc2_0.y = fmaf(av2, bv0.y, acc2_0.y);
      acc2_0.z = fmaf(av2, bv0.z, acc2_0.z);
      acc2_0.w = fmaf(av2, bv0.w, acc2_0.w);
      acc2_1.x = fmaf(av2, bv1.x, acc2_1.x);
      acc2_1.y = fmaf(av2, bv1.y, acc2_1.y);
      acc2_1.z = fmaf(av2, bv1.z, acc2_1.z);
      acc2_1.w = fmaf(av2, bv1.w, acc2_1.w);
      acc3_0.x = fmaf(av3, bv0.x, acc3_0.x);
      acc3_0.y = fmaf(av3, bv0.y, acc3_0.y);
      acc3_0.z = fmaf(av3, bv0.z, acc3_0.z);
      acc3_0.w = fmaf(av3, bv0.w, acc3_0.w);
      acc3_1.x = fmaf(av3, bv1.x, acc3_1.x);
      acc3_1.y = fmaf(av3, bv1.y, acc3_1.y);
      acc3_1.z = fmaf(av3, bv1.z, acc3_1.z);
      acc3_1.w = fmaf(av3, bv1.w, acc3_1.w);
      acc4_0.x = fmaf(av4, bv0.x, acc4_0.x);
      acc4_0.y = fmaf(av4, bv0.y, acc4_0.y);
      acc4_0.z = fmaf(av4, bv0.z, acc4_0.z);
      acc4_0.w = fmaf(av4, bv0.w, acc4_0.w);
      acc4_1.x = fmaf(av4, bv1.x, acc4_1.x);
      acc4_1.y = fmaf(av4, bv1.y, acc4_1.y);
      acc4_1.z = fmaf(av4, bv1.z, acc4_1.z);
      acc4_1.w = fmaf(av4, bv1.w, acc4_1.w);
      acc5_0.x = fmaf(av5, bv0.x, acc5_0.x);
      acc5_0.y = fmaf(av5, bv0.y, acc5_0.y);
      acc5_0.z = fmaf(av5, bv0.z, acc5_0.z);
      acc5_0.w = fmaf(av5, bv0.w, acc5_0.w);
      acc5_1.x = fmaf(av5, bv1.x, acc5_1.x);
      acc5_1.y = fmaf(av5, bv1.y, acc5_1.y);
      acc5_1.z = fmaf(av5, bv1.z, acc5_1.z);
      acc5_1.w = fmaf(av5, bv1.w, acc5_1.w);
      acc6_0.x = fmaf(av6, bv0.x, acc6_0.x);
      acc6_0.y = fmaf(av6, bv0.y, acc6_0.y);
      acc6_0.z = fmaf(av6, bv0.z, acc6_0.z);
      acc6_0.w = fmaf(av6, bv0.w, acc6_0.w);
      acc6_1.x = fmaf(av6, bv1.x, acc6_1.x);
      acc6_1.y = fmaf(av6, bv1.y, acc6_1.y);
      acc6_1.z = fmaf(av6, bv1.z, acc6_1.z);
      acc6_1.w = fmaf(av6, bv1.w, acc6_1.w);
      acc7_0.x = fmaf(av7, bv0.x, acc7_0.x);
      acc7_0.y = fmaf(av7, bv0.y, acc7_0.y);
      acc7_0.z = fmaf(av7, bv0.z, acc7_0.z);
      acc7_0.w = fmaf(av7, bv0.w, acc7_0.w);
      acc7_1.x = fmaf(av7, bv1.x, acc7_1.x);
      acc7_1.y = fmaf(av7, bv1.y, acc7_1.y);
      acc7_1.z = fmaf(av7, bv1.z, acc7_1.z);
      acc7_1.w = fmaf(av7, bv1.w, acc7_1.w);
    }
    __syncthreads();
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
