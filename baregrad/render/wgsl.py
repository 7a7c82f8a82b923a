"""Render a LinearProgram as a WGSL compute shader (the WEBGPU device).

Storage: WGSL has only 32-bit scalars, so
- float32 / int32 / uint32 buffers are array<f32|i32|u32>;
- sub-word dtypes (bool, int8, uint8, int16, uint16, float16, bfloat16) stay packed, several to a u32 word,
  exactly as on the host; a writable one is array<atomic<u32>> and a store clears and sets its own bits with
  atomicAnd/atomicOr, so threads writing neighbours in one word never race;
- int64 keeps its 8-byte layout but computes in 32 bits (exact for |x| < 2**31): loads read the low word,
  stores write the sign-extended pair. float64 and uint64 have no WGSL form (the device reports DTypeError).
Values compute in i32 / u32 / f32 / bool; narrow integers wrap and half/bfloat16 round after every op, as the
C renderer does. Every global loop maps onto one flat thread id over a 2D dispatch (65535 groups a side).
"""
from __future__ import annotations

import ctypes
import math
import struct

from baregrad import dtype as dt
from baregrad.ir.linear import Instr, L, LinearProgram, LoopKind
from baregrad.ir.ops import Op, ReduceOp
from baregrad.render.cstyle import global_size

WORKGROUP = 64
UNSUPPORTED = {"float64": "WGSL has no 64-bit floats", "uint64": "WGSL has no 64-bit integers (int64 is computed "
                                                                   "in 32 bits, uint64 is not supported)"}
MATH = {Op.SQRT: "sqrt", Op.EXP: "exp", Op.EXP2: "exp2", Op.LOG: "log", Op.LOG2: "log2", Op.SIN: "sin",
        Op.COS: "cos", Op.TANH: "tanh", Op.TRUNC: "trunc", Op.ERF: "bg_erf", Op.POW: "bg_pow"}

PREAMBLE = """fn bg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
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
"""


def compute_type(d: dt.DType) -> str:
    if d is dt.bool_:
        return "bool"
    if d.is_float:
        return "f32"
    return "u32" if d.is_unsigned else "i32"


def is_packed(d: dt.DType) -> bool:
    return d.itemsize < 4


def literal(value, d: dt.DType) -> str:
    if d is dt.bool_:
        return "true" if value else "false"
    if d.is_float:
        v = ctypes.c_float(float(value)).value
        if not math.isfinite(v):
            return f"bitcast<f32>({struct.unpack('<I', struct.pack('<f', v))[0]:#x}u)"
        return f"{v.hex()}f" if v != 0 or math.copysign(1, v) > 0 else "-0.0f"
    if d is dt.int64 and int(value) in (-2**63, 2**63 - 1):
        # int64's extremes are max/min reduction identities: in 32 bits they must stay extremes (wrapped, -2**63
        # would become 0, and the max of negative numbers 0)
        value = -2**31 if value < 0 else 2**31 - 1
    bits = min(d.bits, 32)
    v = int(value) & ((1 << bits) - 1)
    if d.is_unsigned:
        return f"{v}u"
    v = v - (1 << bits) if v >> (bits - 1) else v
    return f"{v}i" if v != -2**31 else "bitcast<i32>(0x80000000u)"


def opaque(expr: str) -> str:
    """An f32 literal hidden from naga's constant folding (which rejects a result that is infinite or NaN)."""
    return f"bg_opaque({expr})" if expr.endswith("f") or expr.startswith("bitcast<f32>") else expr


def is_zero_literal(expr: str) -> bool:
    return expr in ("0x0.0p+0f", "-0.0f")  # literal()'s spellings of +0.0 and -0.0


def special_case(op: Op, s: list[str]) -> str | None:
    """Float arithmetic whose NaN/Inf result a no-NaN/Inf compiler would fold away, rendered on the bits."""
    if op is Op.FDIV and is_zero_literal(s[1]):
        return f"bg_div_zero({s[0]}, {s[1]})"
    if op is Op.RECIP and is_zero_literal(s[0]):
        return f"bg_div_zero(1.0f, {s[0]})"
    if op is Op.MUL and (is_zero_literal(s[0]) or is_zero_literal(s[1])):
        x, zero = (s[1], s[0]) if is_zero_literal(s[0]) else (s[0], s[1])
        return f"bg_mul_zero({x}, {zero})"
    if op in (Op.SUB, Op.FDIV) and s[0] == s[1]:
        return f"bg_{'sub' if op is Op.SUB else 'div'}_self({s[0]})"
    return None


def wrap(d: dt.DType, expr: str) -> str:
    """Narrow integers wrap to their width and half/bfloat16 round to their format after every op."""
    if d is dt.float16:
        return f"f16_from_bits(f16_bits({expr}))"
    if d is dt.bfloat16:
        return f"bf16_from_bits(bf16_bits({expr}))"
    if d.is_int and d.itemsize < 4:
        shift = 32 - d.bits
        return f"(({expr}) & {(1 << d.bits) - 1}u)" if d.is_unsigned else f"((({expr}) << {shift}u) >> {shift}u)"
    return expr


def to_bits(d: dt.DType, x: str) -> str:
    """The dtype's bit pattern as the low bits of a u32."""
    if d is dt.bool_:
        return f"select(0u, 1u, {x})"
    if d is dt.float16:
        return f"f16_bits({x})"
    if d is dt.bfloat16:
        return f"bf16_bits({x})"
    if d.is_float:
        return f"bitcast<u32>({x})"
    return f"(bitcast<u32>({x}) & {(1 << min(d.bits, 32)) - 1}u)"


def from_bits(d: dt.DType, b: str) -> str:
    if d is dt.bool_:
        return f"({b} != 0u)"
    if d is dt.float16:
        return f"f16_from_bits({b})"
    if d is dt.bfloat16:
        return f"bf16_from_bits({b})"
    if d.is_float:
        return f"bitcast<f32>({b})"
    if d.is_unsigned:
        return f"({b})"
    shift = 32 - min(d.bits, 32)
    return f"((bitcast<i32>({b}) << {shift}u) >> {shift}u)" if shift else f"bitcast<i32>({b})"


class WGSLRenderer:
    def render(self, prog: LinearProgram) -> str:
        self.prog, self.names, self.lines = prog, {}, []
        depth, strides, first = 1, _strides(prog), True
        for i, ins in enumerate(prog.instrs):
            pad = "  " * depth
            if ins.op is L.PARAM:
                self.names[i] = f"p{ins.arg.index}"
            elif ins.op is L.CONST:
                self.names[i] = literal(ins.arg, ins.dtype)
            elif ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL:
                if first:
                    self.lines += [pad + f"let gidx = i32(gid.x + gid.y * nwg.x * {WORKGROUP}u);",
                                   pad + f"if (gidx >= {global_size(prog)}) {{ return; }}"]
                    first = False
                loop, stride = ins.arg, strides[ins.arg.name]
                self.names[i] = loop.name
                self.lines.append(pad + f"let {loop.name} = (gidx / {stride}) % {loop.size};")
            elif ins.op is L.RANGE:
                name = self.names[i] = ins.arg.name
                self.lines.append(pad + f"for (var {name}: i32 = 0; {name} < {ins.arg.size}; {name}++) {{")
                depth += 1
            elif ins.op is L.END:
                if prog.instrs[ins.src[0]].arg.kind is LoopKind.REDUCE:
                    depth -= 1
                    self.lines.append("  " * depth + "}")
            else:
                self.lines += [pad + line for line in self.statement(i, ins)]
        if first:  # no global loop: one invocation of the workgroup runs the kernel, the others would race it
            self.lines.insert(0, f"  if (gid.x + gid.y * nwg.x * {WORKGROUP}u != 0u) {{ return; }}")
        decls = [self.binding(n, p) for n, p in enumerate(prog.params)]
        head = [f"@compute @workgroup_size({WORKGROUP})",
                f"fn {prog.name}(@builtin(global_invocation_id) gid: vec3<u32>, "
                "@builtin(num_workgroups) nwg: vec3<u32>) {"]
        return "\n".join([PREAMBLE, *decls, *head, *self.lines, "}", ""])

    def binding(self, n: int, p) -> str:
        access = "read_write" if p.writable else "read"
        if is_packed(p.dtype):
            elem = "atomic<u32>" if p.writable else "u32"
        else:
            elem = "i32" if p.dtype is dt.int64 else compute_type(p.dtype)
        return f"@group(0) @binding({n}) var<storage, {access}> p{p.index}: array<{elem}>;"

    def src_dtype(self, ins: Instr, k: int = 0) -> dt.DType:
        return self.prog.instrs[ins.src[k]].dtype

    def statement(self, i: int, ins: Instr) -> list[str]:
        s = [self.names[x] for x in ins.src]
        name = self.names[i] = f"v{i}"
        ty = compute_type(ins.dtype)
        if ins.op is L.LOAD:
            value = self.load(s[0], s[1], ins.dtype)
            if len(s) > 2 and s[2] != "true":
                return [f"var {name}: {ty} = {literal(0, ins.dtype)};", f"if ({s[2]}) {{ {name} = {value}; }}"]
            return [f"let {name}: {ty} = {value};"]
        if ins.op is L.STORE:
            return self.store(s[0], s[1], s[2], ins.dtype)
        if ins.op is L.ACC:
            return [f"var {name}: {ty} = {literal(ins.arg, ins.dtype)};"]
        if ins.op is L.UPDATE:
            acc = self.names[i] = s[0]
            return [f"{acc} = {wrap(ins.dtype, self.reduce(ins.arg, acc, s[1], ins.dtype))};"]
        if ins.op is L.CAST:
            return [f"let {name}: {ty} = {self.cast(s[0], self.src_dtype(ins), ins.dtype)};"]
        if ins.op is L.BITCAST:
            return [f"let {name}: {ty} = {from_bits(ins.dtype, to_bits(self.src_dtype(ins), s[0]))};"]
        return [f"let {name}: {ty} = {wrap(ins.dtype, self.alu(ins.arg, s, self.src_dtype(ins)))};"]

    # ---- memory ----
    def load(self, buf: str, idx: str, d: dt.DType) -> str:
        param = next(p for p in self.prog.params if f"p{p.index}" == buf)
        if d is dt.int64:
            return f"{buf}[2 * ({idx})]"
        if not is_packed(d):
            return f"{buf}[{idx}]"
        per_word = 4 // d.itemsize
        word = f"{buf}[u32({idx}) / {per_word}u]"
        word = f"atomicLoad(&{word})" if param.writable else word
        shift = f"(u32({idx}) % {per_word}u) * {d.bits}u"
        return from_bits(d, f"(({word} >> ({shift})) & {(1 << d.bits) - 1}u)")

    def store(self, buf: str, idx: str, value: str, d: dt.DType) -> list[str]:
        if d is dt.int64:
            return [f"{buf}[2 * ({idx})] = {value};", f"{buf}[2 * ({idx}) + 1] = {value} >> 31u;"]
        if not is_packed(d):
            return [f"{buf}[{idx}] = {value};"]
        per_word, mask = 4 // d.itemsize, (1 << d.bits) - 1
        word = f"&{buf}[u32({idx}) / {per_word}u]"
        shift = f"((u32({idx}) % {per_word}u) * {d.bits}u)"
        return [f"atomicAnd({word}, ~({mask}u << {shift}));",
                f"atomicOr({word}, ({to_bits(d, value)} & {mask}u) << {shift});"]

    # ---- arithmetic ----
    def reduce(self, op: ReduceOp, acc: str, value: str, d: dt.DType) -> str:
        if op is ReduceOp.SUM:
            return self.alu(Op.ADD, [acc, value], d)
        if op is ReduceOp.PROD:
            return self.alu(Op.MUL, [acc, value], d)
        return self.alu(Op.MAX, [acc, value], d)

    def cast(self, x: str, src: dt.DType, d: dt.DType) -> str:
        ty = compute_type(d)
        if d is dt.bool_:
            return f"({x} != {literal(0, src)})" if src is not dt.bool_ else x
        if d.is_float:
            return wrap(d, f"f32({x})")
        if src.is_float:  # saturate like the C renderer; WGSL's own conversion clamps short of INT_MAX
            lo, hi = dt.min_max_values(d)
            lo, hi = max(lo, -2**31), min(hi, 2**32 - 1 if d.is_unsigned else 2**31 - 1)
            return (f"select(select(select({ty}({x}), {literal(hi, d)}, {x} >= {float(hi)!r}), {literal(lo, d)}, "
                    f"{x} <= {float(lo)!r}), {literal(0, d)}, bg_isnan({x}))")
        if src is dt.bool_:
            return f"select({literal(0, d)}, {literal(1, d)}, {x})"
        return wrap(d, f"{ty}({x})")

    def alu(self, op: Op, s: list[str], in_d: dt.DType) -> str:
        if op is Op.WHERE:
            return f"select({s[2]}, {s[1]}, {s[0]})"
        if in_d is dt.bool_:
            return self.bool_alu(op, s)
        if op is Op.NEG:
            return f"(0u - {s[0]})" if in_d.is_unsigned else f"(-({s[0]}))"
        if op is Op.NOT:
            return f"select({literal(0, in_d)}, {literal(1, in_d)}, {s[0]} == {literal(0, in_d)})"
        if in_d.is_float and (special := special_case(op, s)) is not None:
            return special
        if op is Op.RECIP:  # 1/0 of a literal zero (an empty tensor's folded load) must not fold to a literal inf
            return f"(1.0f / {opaque(s[0])})"
        if op in MATH:  # naga constant-folds builtins of literals and rejects e.g. log(0): keep literals opaque
            return f"{MATH[op]}({', '.join(opaque(a) for a in s)})"
        if op is Op.MAX:
            if in_d.is_float:
                return f"select({s[1]}, {s[0]}, ({s[0]} > {s[1]} && !bg_isnan({s[1]})) || bg_isnan({s[0]}))"
            return f"select({s[1]}, {s[0]}, {s[0]} > {s[1]})"
        if in_d.is_float and op in (Op.CMPLT, Op.CMPEQ, Op.CMPNE):
            return self.float_compare(op, s)
        if op in (Op.IDIV, Op.MOD):
            return self.divmod(op, s, in_d)
        if op in (Op.SHL, Op.SHR):
            return f"({s[0]} {'<<' if op is Op.SHL else '>>'} u32({s[1]}))"
        binary = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.FDIV: "/", Op.CMPLT: "<", Op.CMPEQ: "==",
                  Op.CMPNE: "!=", Op.AND: "&", Op.OR: "|", Op.XOR: "^"}
        if op in binary:
            if in_d.is_float and op in (Op.ADD, Op.SUB, Op.MUL, Op.FDIV):  # folded literals may overflow to inf
                return f"({s[0]} {binary[op]} {opaque(s[1])})"
            return f"({s[0]} {binary[op]} {s[1]})"
        raise NotImplementedError(f"WGSL cannot render {op} on {in_d.name}")

    @staticmethod
    def float_compare(op: Op, s: list[str]) -> str:
        """NaN tested on the bits: WGSL compilers may assume no NaNs and fold x != x or unordered compares."""
        nan = f"bg_isnan({s[0]}) || bg_isnan({s[1]})"
        if op is Op.CMPNE:
            return f"({s[0]} != {s[1]} || {nan})"
        return f"({s[0]} {'<' if op is Op.CMPLT else '=='} {s[1]} && !({nan}))"

    def bool_alu(self, op: Op, s: list[str]) -> str:
        table = {Op.ADD: "||", Op.OR: "||", Op.MAX: "||", Op.MUL: "&&", Op.AND: "&&", Op.XOR: "!=",
                 Op.CMPNE: "!=", Op.CMPEQ: "=="}
        if op in table:
            return f"({s[0]} {table[op]} {s[1]})"
        if op in (Op.NOT, Op.NEG):
            return f"(!{s[0]})"
        if op is Op.CMPLT:
            return f"(!{s[0]} && {s[1]})"
        raise NotImplementedError(f"WGSL cannot render {op} on bool")

    def divmod(self, op: Op, s: list[str], in_d: dt.DType) -> str:
        """Integer division and modulo by 0 give 0 and INT_MIN / -1 wraps, as on the C devices."""
        if in_d.is_float:
            return f"trunc({s[0]} / {s[1]})" if op is Op.IDIV else f"bg_fmod({s[0]}, {s[1]})"
        zero = literal(0, in_d)
        sym = "/" if op is Op.IDIV else "%"
        safe = f"select({s[1]}, {literal(1, in_d)}, {s[1]} == {zero})"
        if in_d.is_unsigned:
            return f"select({s[0]} {sym} {safe}, {zero}, {s[1]} == {zero})"
        safe = f"select({s[1]}, 1i, {s[1]} == 0i || {s[1]} == -1i)"
        minus1 = f"(-({s[0]}))" if op is Op.IDIV else zero
        return f"select(select({s[0]} {sym} {safe}, {minus1}, {s[1]} == -1i), {zero}, {s[1]} == 0i)"


def _strides(prog: LinearProgram) -> dict[str, int]:
    loops = [ins.arg for ins in prog.instrs if ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL]
    strides, acc = {}, 1
    for loop in reversed(loops):
        strides[loop.name] = acc
        acc *= loop.size
    return strides


def render_wgsl(prog: LinearProgram) -> str:
    return WGSLRenderer().render(prog)
