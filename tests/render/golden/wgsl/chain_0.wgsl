// plan: vector chain_0 grid=(3, 1, 1) block=(256, 1, 1) smem=0
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
@compute @workgroup_size(256)
fn chain_0(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid: i32 = i32(lid);
  let bidx: i32 = i32(wid.x + wid.y * nwg.x);
  let t: i32 = bidx * 256 + tid;
  if (t >= 768) { return; }
  {
    let g0: i32 = 4 * t + 0;
    let v7: f32 = p1[g0];
    let v8: f32 = (v7 * bg_opaque(0x1.0000000000000p+1f));
    let v9: f32 = exp(v7);
    let v10: i32 = select(select(g0 % select(48i, 1i, 48i == 0i || 48i == -1i), 0i, 48i == -1i), 0i, 48i == 0i);
    let v11: f32 = p2[v10];
    let v12: f32 = (v9 * v11);
    let v13: f32 = (v8 + v12);
    p0[g0] = v13;
  }
  {
    let g0: i32 = 4 * t + 1;
    let v7: f32 = p1[g0];
    let v8: f32 = (v7 * bg_opaque(0x1.0000000000000p+1f));
    let v9: f32 = exp(v7);
    let v10: i32 = select(select(g0 % select(48i, 1i, 48i == 0i || 48i == -1i), 0i, 48i == -1i), 0i, 48i == 0i);
    let v11: f32 = p2[v10];
    let v12: f32 = (v9 * v11);
    let v13: f32 = (v8 + v12);
    p0[g0] = v13;
  }
  {
    let g0: i32 = 4 * t + 2;
    let v7: f32 = p1[g0];
    let v8: f32 = (v7 * bg_opaque(0x1.0000000000000p+1f));
    let v9: f32 = exp(v7);
    let v10: i32 = select(select(g0 % select(48i, 1i, 48i == 0i || 48i == -1i), 0i, 48i == -1i), 0i, 48i == 0i);
    let v11: f32 = p2[v10];
    let v12: f32 = (v9 * v11);
    let v13: f32 = (v8 + v12);
    p0[g0] = v13;
  }
  {
    let g0: i32 = 4 * t + 3;
    let v7: f32 = p1[g0];
    let v8: f32 = (v7 * bg_opaque(0x1.0000000000000p+1f));
    let v9: f32 = exp(v7);
    let v10: i32 = select(select(g0 % select(48i, 1i, 48i == 0i || 48i == -1i), 0i, 48i == -1i), 0i, 48i == 0i);
    let v11: f32 = p2[v10];
    let v12: f32 = (v9 * v11);
    let v13: f32 = (v8 + v12);
    p0[g0] = v13;
  }
}
