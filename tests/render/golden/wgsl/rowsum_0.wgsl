// plan: block rowsum_0 grid=(64, 1, 1) block=(64, 1, 1) smem=0
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
var<workgroup> red_f32: array<f32, 64>;
@compute @workgroup_size(64)
fn rowsum_0(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid: i32 = i32(lid);
  let bidx: i32 = i32(wid.x + wid.y * nwg.x);
  if (bidx >= 64) { return; }
  let g0: i32 = (bidx / 1) % 64;
  let v5: i32 = (g0 * 48i);
  var v6: f32 = 0x0.0p+0f;
  for (var f0: i32 = tid; f0 < 48; f0 += 64) {
    let r0: i32 = f0 % 48;
    let v8: i32 = (v5 + r0);
    let v9: f32 = p1[v8];
    v6 = (v6 + v9);
  }
  red_f32[tid] = v6;
  workgroupBarrier();
  if (tid < 32) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 32]); }
  workgroupBarrier();
  if (tid < 16) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 16]); }
  workgroupBarrier();
  if (tid < 8) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 8]); }
  workgroupBarrier();
  if (tid < 4) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 4]); }
  workgroupBarrier();
  if (tid < 2) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 2]); }
  workgroupBarrier();
  if (tid < 1) { red_f32[tid] = (red_f32[tid] + red_f32[tid + 1]); }
  workgroupBarrier();
  v6 = red_f32[0];
  workgroupBarrier();
  if (tid == 0) {
    p0[g0] = v6;
  }
}
