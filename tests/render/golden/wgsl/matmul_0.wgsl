// plan: matmul matmul_0 grid=(1, 1, 1) block=(256, 1, 1) smem=0
fn bg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn bg_opaque(x: f32) -> f32 { return x; }
// IEEE results decided on the bits where a compiler that assumes no NaN/Inf (lavapipe does) folds them away:
// x / 0.0 and NaN * 0.0 to 0, x - x to 0 and x / x to 1 for x = inf or NaN
fn bg_nonfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }
fn bg_div_zero(x: f32, zero: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) == 0u || bg_isnan(x)) { return bitcast<f32>(0x7fc00000u); }
  return bitcast<f32>(((bitcast<u32>(x) ^ bitcast<u32>(zero)) & 0x80000000u) | 0x7f800000u);
}
fn bg_mul_zero(x: f32, zero: f32) -> f32 {
  if (bg_nonfinite(x)) { return bitcast<f32>(0x7fc00000u); }
  return bitcast<f32>((bitcast<u32>(x) ^ bitcast<u32>(zero)) & 0x80000000u);
}
fn bg_sub_self(x: f32) -> f32 { return select(0.0, bitcast<f32>(0x7fc00000u), bg_nonfinite(x)); }
fn bg_div_self(x: f32) -> f32 {
  return select(1.0, bitcast<f32>(0x7fc00000u), bg_nonfinite(x) || (bitcast<u32>(x) & 0x7fffffffu) == 0u);
}
fn f16_bits(x: f32) -> u32 { return pack2x16float(vec2<f32>(x, 0.0)) & 0xffffu; }
fn f16_from_bits(b: u32) -> f32 { return unpack2x16float(b & 0xffffu).x; }
fn bf16_bits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) { return (u >> 16u) | 0x40u; }
  return ((u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u) & 0xffffu;
}
fn bf16_from_bits(b: u32) -> f32 { return bitcast<f32>(b << 16u); }
fn bg_erf(x: f32) -> f32 {
  // Numerical Recipes erfc: fractional error below 1.2e-7
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = 1.0 - t * exp(p);
  return select(r, -r, x < 0.0);
}
fn bg_fmod(x: f32, y: f32) -> f32 {
  // C's fmod, exact: WGSL's x % y is x - y * trunc(x / y), which rounds (1.0 % 0.1 gives 0, not 0.09999999).
  // Subtracting the largest y * 2^k <= r is exact (Sterbenz) and at least halves r: at most 278 steps.
  // Exact for normal floats; WGSL may flush subnormals to zero
  let ay = abs(y);
  var r = abs(x);
  if (bg_isnan(x) || bg_isnan(y) || (bitcast<u32>(r) == 0x7f800000u) || ay == 0.0) {
    return bitcast<f32>(0x7fc00000u);
  }
  let ey = frexp(ay).exp;
  for (var i = 0; i < 300 && r >= ay; i++) {
    var t = ldexp(ay, frexp(r).exp - ey);
    if (t > r) { t = t * 0.5; }
    r = r - t;
  }
  return select(r, -r, x < 0.0);
}
fn bg_pow(x: f32, y: f32) -> f32 {
  // WGSL's pow is undefined for x < 0; C's is defined for integral y
  if (y == 0.0) { return 1.0; }
  let r = pow(abs(x), y);
  if (x >= 0.0 || bg_isnan(x)) { return select(r, x, bg_isnan(x)); }
  if (trunc(y) != y) { return bitcast<f32>(0x7fc00000u); }
  return select(r, -r, trunc(y * 0.5) != y * 0.5);
}

@group(0) @binding(0) var<storage, read_write> p0: array<f32>;
@group(0) @binding(1) var<storage, read> p1: array<f32>;
@group(0) @binding(2) var<storage, read> p2: array<f32>;
var<workgroup> As: array<f32, 1056>;
var<workgroup> Bs: array<f32, 1056>;
@compute @workgroup_size(256)
fn matmul_0(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid: i32 = i32(lid);
  let bidx: i32 = i32(wid.x + wid.y * nwg.x);
  if (bidx >= 1) { return; }
  let tx: i32 = tid % 16;
  let ty: i32 = tid / 16;
  let bz: i32 = bidx / 1;
  let m0: i32 = ((bidx / 1) % 1) * 128;
  let n0: i32 = (bidx % 1) * 128;
  var acc0_0: vec4<f32> = vec4<f32>(0.0f);
  var acc0_1: vec4<f32> = vec4<f32>(0.0f);
  var acc1_0: vec4<f32> = vec4<f32>(0.0f);
  var acc1_1: vec4<f32> = vec4<f32>(0.0f);
  var acc2_0: vec4<f32> = vec4<f32>(0.0f);
  var acc2_1: vec4<f32> = vec4<f32>(0.0f);
  var acc3_0: vec4<f32> = vec4<f32>(0.0f);
  var acc3_1: vec4<f32> = vec4<f32>(0.0f);
  var acc4_0: vec4<f32> = vec4<f32>(0.0f);
  var acc4_1: vec4<f32> = vec4<f32>(0.0f);
  var acc5_0: vec4<f32> = vec4<f32>(0.0f);
  var acc5_1: vec4<f32> = vec4<f32>(0.0f);
  var acc6_0: vec4<f32> = vec4<f32>(0.0f);
  var acc6_1: vec4<f32> = vec4<f32>(0.0f);
  var acc7_0: vec4<f32> = vec4<f32>(0.0f);
  var acc7_1: vec4<f32> = vec4<f32>(0.0f);
  for (var k0: i32 = 0; k0 < 48; k0 += 8) {
    for (var it: i32 = 0; it < 1; it += 1) {
      let c: i32 = tid + it * 256;
      let ck: i32 = (c % 2) * 4;
      let cr: i32 = c / 2;
      let cv: vec4<f32> = vec4<f32>(p1[(0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1) + 0], p1[(0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1) + 1], p1[(0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1) + 2], p1[(0 + 0 * bz + (min(m0 + cr, 63)) * 48 + (k0 + ck) * 1) + 3]);
      As[(ck + 0) * 132 + cr] = cv.x;
      As[(ck + 1) * 132 + cr] = cv.y;
      As[(ck + 2) * 132 + cr] = cv.z;
      As[(ck + 3) * 132 + cr] = cv.w;
    }
    for (var it: i32 = 0; it < 1; it += 1) {
      let c: i32 = tid + it * 256;
      let ck: i32 = c / 32;
      let cr: i32 = (c % 32) * 4;
      let cv: vec4<f32> = vec4<f32>(p2[(0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80) + 0], p2[(0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80) + 1], p2[(0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80) + 2], p2[(0 + 0 * bz + (min(n0 + cr, 76)) * 1 + (k0 + ck) * 80) + 3]);
      Bs[(ck * 132 + cr) + 0] = cv.x;
      Bs[(ck * 132 + cr) + 1] = cv.y;
      Bs[(ck * 132 + cr) + 2] = cv.z;
      Bs[(ck * 132 + cr) + 3] = cv.w;
    }
    workgroupBarrier();
    for (var kk: i32 = 0; kk < 8; kk += 1) {
      let ag0: vec4<f32> = vec4<f32>(As[(kk * 132 + (ty + 0) * 4) + 0], As[(kk * 132 + (ty + 0) * 4) + 1], As[(kk * 132 + (ty + 0) * 4) + 2], As[(kk * 132 + (ty + 0) * 4) + 3]);
      let ag1: vec4<f32> = vec4<f32>(As[(kk * 132 + (ty + 16) * 4) + 0], As[(kk * 132 + (ty + 16) * 4) + 1], As[(kk * 132 + (ty + 16) * 4) + 2], As[(kk * 132 + (ty + 16) * 4) + 3]);
      let av0: f32 = ag0.x;
      let av1: f32 = ag0.y;
      let av2: f32 = ag0.z;
      let av3: f32 = ag0.w;
      let av4: f32 = ag1.x;
      let av5: f32 = ag1.y;
      let av6: f32 = ag1.z;
      let av7: f32 = ag1.w;
      let bv0: vec4<f32> = vec4<f32>(Bs[(kk * 132 + (tx + 0) * 4) + 0], Bs[(kk * 132 + (tx + 0) * 4) + 1], Bs[(kk * 132 + (tx + 0) * 4) + 2], Bs[(kk * 132 + (tx + 0) * 4) + 3]);
      let bv1: vec4<f32> = vec4<f32>(Bs[(kk * 132 + (tx + 16) * 4) + 0], Bs[(kk * 132 + (tx + 16) * 4) + 1], Bs[(kk * 132 + (tx + 16) * 4) + 2], Bs[(kk * 132 + (tx + 16) * 4) + 3]);
      acc0_0 = vec4<f32>(av0) * bv0 + acc0_0;
      acc0_1 = vec4<f32>(av0) * bv1 + acc0_1;
      acc1_0 = vec4<f32>(av1) * bv0 + acc1_0;
      acc1_1 = vec4<f32>(av1) * bv1 + acc1_1;
      acc2_0 = vec4<f32>(av2) * bv0 + acc2_0;
      acc2_1 = vec4<f32>(av2) * bv1 + acc2_1;
      acc3_0 = vec4<f32>(av3) * bv0 + acc3_0;
      acc3_1 = vec4<f32>(av3) * bv1 + acc3_1;
      acc4_0 = vec4<f32>(av4) * bv0 + acc4_0;
      acc4_1 = vec4<f32>(av4) * bv1 + acc4_1;
      acc5_0 = vec4<f32>(av5) * bv0 + acc5_0;
      acc5_1 = vec4<f32>(av5) * bv1 + acc5_1;
      acc6_0 = vec4<f32>(av6) * bv0 + acc6_0;
      acc6_1 = vec4<f32>(av6) * bv1 + acc6_1;
      acc7_0 = vec4<f32>(av7) * bv0 + acc7_0;
      acc7_1 = vec4<f32>(av7) * bv1 + acc7_1;
    }
    workgroupBarrier();
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc0_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc1_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc2_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 0) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc3_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc4_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 1;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc5_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 2;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc6_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_0.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_0.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_0.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 0) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_0.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 0;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_1.x;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 1;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_1.y;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 2;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_1.z;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
  {
    let em: i32 = m0 + (ty + 16) * 4 + 3;
    let en: i32 = n0 + (tx + 16) * 4 + 3;
    if (em < 64 && en < 80) {
      let ev: f32 = acc7_1.w;
      let v7: i32 = (em * 80i);
      let v8: i32 = (em * 48i);
      let v10: i32 = (v7 + en);
      p0[v10] = ev;
    }
  }
}
