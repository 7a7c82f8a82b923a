"""One renderer for the C family (C, CUDA C, OpenCL C): the languages differ only in a Dialect table.

Half and bfloat16 values are computed in float and rounded back after every op (as torch does on the
CPU); they are stored as their 16-bit formats. Integer division and modulo by zero give 0 rather than a
trap, so bad data can never kill the process.
"""
from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field

from baregrad import dtype as dt
from baregrad.ir.linear import L, LinearProgram, LoopKind, ParamInfo, global_size
from baregrad.ir.ops import Op, ReduceOp


@dataclass(frozen=True)
class Dialect:
    name: str
    kernel_prefix: str                       # e.g. 'void', 'extern "C" __global__ void', '__kernel void'
    buffer_qualifier: str = ""               # e.g. '__global '
    preamble: str = ""
    type_names: dict[str, str] = field(default_factory=dict)  # overrides of DType.c_name
    float_math: dict[Op, str] = field(default_factory=dict)   # overrides of the libm names
    half_storage: str = "_Float16"
    parallel_pragma: str = ""                # emitted before the first global loop when work is large
    thread_index: str = ""                   # GPU dialects: the flat global thread id expression
    simd_reductions: bool = False            # mark innermost sum loops `omp simd reduction` (vectorizable)
    libc_preamble: bool = True               # include C_PREAMBLE (math.h, memcpy-based bf16 helpers)
    float_suffix: str = "f"                  # libm's float names end in f; OpenCL's overloads do not
    bool_storage: str = ""                   # storage type of bool when it differs from the compute type
    half_load: str = ""                      # helper turning stored half bits into float (else a plain cast)
    half_store: str = ""                     # helper turning float into stored half bits
    bitcast_fn: str = ""                     # e.g. 'as_{type}': a builtin reinterpret instead of memcpy
    vector_pin: str = ""                     # statement keeping a loaded SIMD vector {name} in a register


LIBM = {Op.SQRT: "sqrt", Op.EXP: "exp", Op.EXP2: "exp2", Op.LOG: "log", Op.LOG2: "log2", Op.SIN: "sin",
        Op.COS: "cos", Op.TANH: "tanh", Op.ERF: "erf", Op.TRUNC: "trunc", Op.POW: "pow"}

C_PREAMBLE = """#include <math.h>
#include <string.h>
static inline float bf16_to_f32(unsigned short b) { unsigned int u = ((unsigned int)b) << 16; float f;
  memcpy(&f, &u, 4); return f; }
static inline unsigned short f32_to_bf16(float f) { unsigned int u; memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (unsigned short)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_round(float f) { return (float)(_Float16)f; }
"""


class CRenderer:
    def __init__(self, dialect: Dialect):
        self.d = dialect

    # ---- types ----
    def compute_type(self, d: dt.DType) -> str:
        if d.lanes > 1:
            return f"bgmask{d.lanes}" if d.scalar is dt.bool_ else f"{self.compute_type(d.scalar)}{d.lanes}"
        if d in (dt.float16, dt.bfloat16):
            return "float"
        if d is dt.bool_:
            return self.d.type_names.get("bool", "_Bool")
        return self.d.type_names.get(d.name, d.c_name)

    def storage_type(self, d: dt.DType) -> str:
        if d is dt.float16:
            return self.d.half_storage
        if d is dt.bfloat16:
            return self.d.type_names.get("uint16", "unsigned short")
        if d is dt.bool_ and self.d.bool_storage:
            return self.d.bool_storage
        return self.compute_type(d)

    def round_result(self, d: dt.DType, expr: str) -> str:
        if d is dt.float16:
            return f"f16_round({expr})"
        if d is dt.bfloat16:
            return f"bf16_round({expr})"
        return expr

    def literal(self, value, d: dt.DType) -> str:
        if d is dt.bool_:
            return "1" if value else "0"
        if d.is_float:
            value = float(value)
            if math.isnan(value):
                return "NAN"
            if math.isinf(value):
                return "INFINITY" if value > 0 else "(-INFINITY)"
            text = float.hex(value)
            return f"(({self.compute_type(d)}){text})"
        if d.is_unsigned:
            return f"(({self.compute_type(d)}){int(value)}ull)"
        if d.itemsize == 8:
            return f"({int(value)}ll)" if value != -2**63 else "(-9223372036854775807ll-1)"
        return f"({int(value)})" if value != -2**31 else "(-2147483647-1)"

    def math_fn(self, op: Op, d: dt.DType) -> str:
        name = self.d.float_math.get(op, LIBM[op])
        return name if d is dt.float64 else name + self.d.float_suffix

    # ---- program ----
    def render(self, prog: LinearProgram) -> str:
        self.names: dict[int, str] = {}
        lines: list[str] = []
        depth = 1
        first_global = True
        gpu_strides = _gpu_global_strides(prog) if self.d.thread_index else {}
        for i, ins in enumerate(prog.instrs):
            if ins.op is L.PARAM:
                self.names[i] = f"p{ins.arg.index}"
                continue
            if ins.op is L.CONST:
                self.names[i] = self.literal(ins.arg, ins.dtype)
                continue
            if ins.op is L.END:
                if prog.instrs[ins.src[0]].arg.kind is LoopKind.GLOBAL and gpu_strides:
                    continue
                depth -= 1
                lines.append("  " * depth + "}")
                continue
            if ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL and gpu_strides:
                self.names[i] = ins.arg.name
                lines.extend("  " * depth + line for line in self.gpu_global(ins.arg, gpu_strides, first_global, prog))
                first_global = False
                continue
            if ins.op is L.RANGE:
                name = ins.arg.name
                self.names[i] = name
                if ins.arg.kind is LoopKind.GLOBAL and first_global and self.d.parallel_pragma and prog.work > 32768:
                    lines.append("  " * depth + self.d.parallel_pragma)
                first_global = first_global and ins.arg.kind is not LoopKind.GLOBAL
                simd = self.simd_reduction_pragma(prog, i) if self.d.simd_reductions else ""
                if simd:
                    lines.append("  " * depth + simd)
                lines.append("  " * depth + f"for (int {name} = 0; {name} < {ins.arg.size}; {name}++) {{")
                depth += 1
                continue
            lines.append("  " * depth + self.statement(i, ins, prog))
        params = ", ".join(self.param_decl(p) for p in prog.params)
        head = f"{self.d.kernel_prefix} {prog.name}({params}) {{"
        preamble = (C_PREAMBLE if self.d.libc_preamble else "") + self.d.preamble
        return "\n".join([preamble, head] + lines + ["}", ""])

    def simd_reduction_pragma(self, prog: LinearProgram, start: int) -> str:
        """`#pragma omp simd reduction(+:...)` for an innermost reduce loop whose updates are all float sums.

        C may not reorder a float sum by itself; the pragma allows it for this loop only, so the compiler
        can vectorize it (the result then differs from a serial sum only by rounding, as torch's does).
        """
        loop = prog.instrs[start].arg
        if loop.kind is not LoopKind.REDUCE:
            return ""
        accs = []
        for ins in prog.instrs[start + 1:]:
            if ins.op is L.RANGE:
                return ""
            if ins.op is L.END and ins.src[0] == start:
                break
            if ins.op is L.UPDATE:
                if ins.arg is not ReduceOp.SUM or ins.dtype not in (dt.float32, dt.float64):
                    return ""
                accs.append(self.names[ins.src[0]])
        return f"#pragma omp simd reduction(+:{','.join(accs)})" if accs else ""

    def gpu_global(self, loop, strides: dict[str, int], first: bool, prog: LinearProgram) -> list[str]:
        """A global loop on a GPU: one thread per iteration, its index unpacked from the flat thread id."""
        lines = []
        if first:
            total = global_size(prog)
            lines += [f"int gidx = {self.d.thread_index};", f"if (gidx >= {total}) return;"]
        stride = strides[loop.name]
        lines.append(f"int {loop.name} = (gidx / {stride}) % {loop.size};" if stride > 1 else
                     f"int {loop.name} = gidx % {loop.size};")
        return lines

    def param_decl(self, p: ParamInfo) -> str:
        const = "" if p.writable else "const "
        return f"{self.d.buffer_qualifier}{const}{self.storage_type(p.dtype)}* p{p.index}"

    def statement(self, i: int, ins, prog: LinearProgram) -> str:
        src = [self.names[s] for s in ins.src]
        name = self.names[i] = f"v{i}"
        ctype = self.compute_type(ins.dtype)
        if ins.dtype.lanes > 1 and ins.op in (L.LOAD, L.STORE, L.ACC):
            return self.vector_statement(name, ins, src)
        if ins.op is L.LOAD:
            value = self.from_storage(f"{src[0]}[{src[1]}]", ins.dtype)
            if len(src) > 2 and src[2] != "1":
                value = f"({src[2]} ? {value} : {self.literal(0, ins.dtype)})"
            return f"{ctype} {name} = {value};"
        if ins.op is L.STORE:
            return f"{src[0]}[{src[1]}] = {self.to_storage(src[2], ins.dtype)};"
        if ins.op is L.ACC:
            return f"{ctype} {name} = {self.literal(ins.arg, ins.dtype)};"
        if ins.op is L.UPDATE:
            acc = self.names[ins.src[0]]
            self.names[i] = acc
            return f"{acc} = {self.round_result(ins.dtype, self.reduce_expr(ins.arg, acc, src[1], ins.dtype))};"
        if ins.op is L.CAST:
            return f"{ctype} {name} = {self.cast_expr(src[0], prog.instrs[ins.src[0]].dtype, ins.dtype)};"
        if ins.op is L.BITCAST:
            return self.bitcast(name, src[0], prog.instrs[ins.src[0]].dtype, ins.dtype)
        if ins.dtype.lanes > 1:
            in_dtypes = [prog.instrs[s].dtype for s in ins.src]
            return f"{ctype} {name} = {self.vector_alu(ins.arg, src, in_dtypes, ins.dtype)};"
        in_dtype = prog.instrs[ins.src[0]].dtype
        return f"{ctype} {name} = {self.round_result(ins.dtype, self.alu(ins.arg, src, in_dtype, ins.dtype))};"

    def vector_alu(self, op: Op, s: list[str], src_dtypes: list[dt.DType], d: dt.DType) -> str:
        """An op on SIMD vectors (codegen's float32 tiles and their epilogues; C_VECTOR_TYPES has the helpers).
        GCC's vector extension broadcasts a scalar operand of arithmetic and comparisons, but not of a select."""
        n = d.lanes
        if op is Op.WHERE:
            a, b = (x if sd.lanes > 1 else f"((float{n}){{0}} + {x})" for x, sd in zip(s[1:], src_dtypes[1:]))
            if src_dtypes[0].lanes == 1:
                return f"({s[0]} ? {a} : {b})"
            return f"bg_sel{n}({s[0]}, {a}, {b})"
        if op is Op.NOT:
            return f"(~{s[0]})"
        if op is Op.MAX:
            a, b = (x if sd.lanes > 1 else f"((float{n}){{0}} + {x})" for x, sd in zip(s, src_dtypes))
            return f"bg_max{n}({a}, {b})"
        if op in LIBM and op is not Op.POW:
            return f"bg_{LIBM[op]}f{n}({s[0]})"
        return self.alu(op, s, d, d)

    def vector_statement(self, name: str, ins, src: list[str]) -> str:
        """Explicit SIMD: `lanes` consecutive elements loaded or stored at once; accumulators start at zero."""
        vtype = self.compute_type(ins.dtype)
        if ins.arg:  # lanes `arg` elements apart (a tile along a conv's output channels, into NCHW)
            return self.strided_vector_statement(name, ins, src, vtype)
        if ins.op is L.LOAD:
            pin = self.d.vector_pin.format(name=name)
            return f"{vtype} {name} = *({vtype}*)({src[0]} + {src[1]});" + (f" {pin}" if pin else "")
        if ins.op is L.STORE:
            return f"*({vtype}*)({src[0]} + {src[1]}) = {src[2]};"
        return f"{vtype} {name} = {{0}};"

    def strided_vector_statement(self, name: str, ins, src: list[str], vtype: str) -> str:
        """A vector whose lanes lie `ins.arg` elements apart, gathered or scattered lane by lane."""
        lanes = range(ins.dtype.lanes)
        if ins.op is L.LOAD and ins.arg == 2:
            return f"{vtype} {name} = bg_even{ins.dtype.lanes}({src[0]} + {src[1]});"
        if ins.op is L.LOAD:
            return f"{vtype} {name} = {{{', '.join(f'{src[0]}[{src[1]} + {k * ins.arg}]' for k in lanes)}}};"
        return " ".join(f"{src[0]}[{src[1]} + {k * ins.arg}] = {src[2]}[{k}];" for k in lanes)

    def from_storage(self, expr: str, d: dt.DType) -> str:
        if d is dt.bfloat16:
            return f"bf16_to_f32({expr})"
        if d is dt.float16:
            return f"{self.d.half_load}({expr})" if self.d.half_load else f"(float)({expr})"
        return expr

    def to_storage(self, expr: str, d: dt.DType) -> str:
        if d is dt.bfloat16:
            return f"f32_to_bf16({expr})"
        if d is dt.float16:
            return f"{self.d.half_store}({expr})" if self.d.half_store else f"({self.d.half_storage})({expr})"
        return expr

    def reduce_expr(self, op: ReduceOp, acc: str, value: str, d: dt.DType) -> str:
        if op is ReduceOp.SUM:
            return f"({acc} | {value})" if d is dt.bool_ else f"({acc} + {value})"
        if op is ReduceOp.PROD:
            return f"({acc} & {value})" if d is dt.bool_ else f"({acc} * {value})"
        return self.max_expr(acc, value, d)

    def max_expr(self, a: str, b: str, d: dt.DType) -> str:
        if d.is_float:
            return f"(({a} > {b} || {a} != {a}) ? {a} : {b})"
        return f"({a} > {b} ? {a} : {b})"

    def cast_expr(self, x: str, src: dt.DType, d: dt.DType) -> str:
        if d is dt.bool_:
            return f"({x} != 0)"
        if d in (dt.float16, dt.bfloat16):
            return self.round_result(d, f"(float)({x})")
        if d.is_int and src.is_float:
            # float -> int conversion of NaN/inf/out-of-range is undefined in C; saturate like x86 does
            lo, hi = dt.min_max_values(d)
            return f"(({x}) != ({x}) ? 0 : ({x}) <= {float(lo)!r} ? {self.literal(lo, d)} : " \
                   f"({x}) >= {float(hi)!r} ? {self.literal(hi, d)} : ({self.compute_type(d)})({x}))"
        return f"({self.compute_type(d)})({x})"

    def bitcast(self, name: str, x: str, src: dt.DType, d: dt.DType) -> str:
        src_t, dst_t = self.storage_type(src), self.storage_type(d)
        raw = self.to_storage(x, src)
        if self.d.bitcast_fn:
            value = self.from_storage(f"{self.d.bitcast_fn.format(type=dst_t)}({raw})", d)
            return f"{self.compute_type(d)} {name} = {value};"
        return (f"{self.compute_type(d)} {name}; {{ {src_t} _b = {raw}; {dst_t} _o; memcpy(&_o, &_b, sizeof(_o)); "
                f"{name} = {self.from_storage('_o', d)}; }}")

    def alu(self, op: Op, s: list[str], in_d: dt.DType, d: dt.DType) -> str:
        is_float = in_d.is_float
        if op is Op.NEG:
            return f"(!{s[0]})" if in_d is dt.bool_ else f"(-{s[0]})"
        if op is Op.NOT:
            return f"(!{s[0]})"
        if op is Op.RECIP:
            return f"(1.0f / {s[0]})" if in_d is not dt.float64 else f"(1.0 / {s[0]})"
        if op in LIBM and op is not Op.POW:
            return f"{self.math_fn(op, in_d)}({s[0]})"
        if op is Op.POW:
            return f"{self.math_fn(op, in_d)}({s[0]}, {s[1]})"
        binary = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.FDIV: "/", Op.CMPLT: "<", Op.CMPEQ: "==",
                  Op.CMPNE: "!=", Op.AND: "&", Op.OR: "|", Op.XOR: "^", Op.SHL: "<<", Op.SHR: ">>"}
        if in_d is dt.bool_ and op in (Op.ADD, Op.MUL):
            return f"({s[0]} {'|' if op is Op.ADD else '&'} {s[1]})"
        if op in binary:
            return f"({s[0]} {binary[op]} {s[1]})"
        if op is Op.MAX:
            return self.max_expr(s[0], s[1], in_d)
        if op is Op.WHERE:
            return f"({s[0]} ? {s[1]} : {s[2]})"
        if op in (Op.IDIV, Op.MOD):
            if is_float:
                return f"{self.math_fn(Op.TRUNC, in_d)}({s[0]} / {s[1]})" if op is Op.IDIV else \
                    f"fmod{'' if in_d is dt.float64 else self.d.float_suffix}({s[0]}, {s[1]})"
            sym = "/" if op is Op.IDIV else "%"
            if s[1].lstrip("(").lstrip("-").rstrip(")").isdigit() and s[1].strip("()") not in ("0", "-1"):
                return f"({s[0]} {sym} {s[1]})"
            zero = self.literal(0, d)
            neg = f"(-{s[0]})" if op is Op.IDIV else zero
            if in_d.is_unsigned:
                return f"({s[1]} == 0 ? {zero} : {s[0]} {sym} {s[1]})"
            return f"({s[1]} == 0 ? {zero} : {s[1]} == -1 ? {neg} : {s[0]} {sym} {s[1]})"
        raise NotImplementedError(f"{self.d.name} cannot render {op}")


def _global_loops(prog: LinearProgram) -> list:
    return [ins.arg for ins in prog.instrs if ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL]


def _gpu_global_strides(prog: LinearProgram) -> dict[str, int]:
    loops = _global_loops(prog)
    strides, acc = {}, 1
    for loop in reversed(loops):
        strides[loop.name] = acc
        acc *= loop.size
    return strides


# GCC vector extensions; aligned(4) lets a vector start at any float (unaligned loads and stores). A comparison
# gives an int vector (-1 true, 0 false): a select is bitwise, max keeps a NaN as the scalar form does, and math
# functions without a vector form in C run lane by lane (GCC unrolls and often vectorizes these short loops).
_VECTOR_LANES = (4, 8, 16)


def _even_lanes(n: int) -> str:
    """bg_even{n}(p): p[0], p[2], ..., p[2n-2] (a stride-2 window: a strided conv's pixel row) from two vector loads
    and a shuffle; the second load starts at p[n-1], so nothing past p[2n-2] is read."""
    lanes = [2 * k if k < n // 2 else 2 * k + 1 for k in range(n)]
    listed = ", ".join(map(str, lanes))
    load = f"float{n} lo = *(const float{n}*)p, hi = *(const float{n}*)(p + {n - 1});"
    return (f"static inline float{n} bg_even{n}(const float* p) {{ {load}\n"
            f"#ifdef __clang__\n  return __builtin_shufflevector(lo, hi, {listed});\n"
            f"#else\n  return __builtin_shuffle(lo, hi, (bgmask{n}){{{listed}}});\n#endif\n}}\n")


C_VECTOR_TYPES = "".join(
    f"typedef float float{n} __attribute__((vector_size({4 * n}), aligned(4)));\n"
    f"typedef int bgmask{n} __attribute__((vector_size({4 * n})));\n"
    f"static inline float{n} bg_sel{n}(bgmask{n} m, float{n} a, float{n} b) "
    f"{{ return (float{n})((m & (bgmask{n})a) | (~m & (bgmask{n})b)); }}\n"
    f"static inline float{n} bg_max{n}(float{n} a, float{n} b) {{ return bg_sel{n}((a > b) | (a != a), a, b); }}\n"
    + "".join(f"static inline float{n} bg_{fn}f{n}(float{n} x) {{ float{n} r; "
              f"for (int i = 0; i < {n}; i++) r[i] = {fn}f(x[i]); return r; }}\n"
              for fn in sorted(set(LIBM.values()) - {"pow"}))
    + _even_lanes(n)
    for n in _VECTOR_LANES)
# An empty asm that claims to modify the vector keeps it in a register: without it GCC re-reads a vector shared by
# a tile row from memory in every FMA (a memory operand), and those loads, not the FMAs, bound the matmul tile
# (in-cache 4x16 tile on AVX2: 61 -> 91 GFLOP/s). "x" names an SSE/AVX register, so x86-64 only.
C_VECTOR_PIN = '__asm__("" : "+x"({name}));' if platform.machine().lower() in ("x86_64", "amd64") else ""
C_DIALECT = Dialect("C", kernel_prefix="void", parallel_pragma="#pragma omp parallel for schedule(static)",
                    simd_reductions=True,
                    preamble=C_VECTOR_TYPES, vector_pin=C_VECTOR_PIN)


OPENCL_PREAMBLE = """static inline float bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }
static inline ushort f32_to_bf16(float f) { uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); return (ushort)(u >> 16); }
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }
static inline float f16_to_f32(ushort b) { return vload_half(0, (const __private half*)&b); }
static inline ushort f32_to_f16(float f) { ushort b; vstore_half_rte(f, 0, (__private half*)&b); return b; }
static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }
"""

# OpenCL C: half is kept as ushort bits and converted with vload_half/vstore_half, so no cl_khr_fp16 is needed;
# bool buffers are uchar (bool may not appear in kernel arguments); a device adds the cl_khr_fp64 pragma itself.
OPENCL_DIALECT = Dialect(
    "OPENCL", kernel_prefix="__kernel void", buffer_qualifier="__global ", preamble=OPENCL_PREAMBLE,
    type_names={"bool": "bool", "int8": "char", "int16": "short", "int64": "long", "uint8": "uchar",
                "uint16": "ushort", "uint32": "uint", "uint64": "ulong"},
    half_storage="ushort", thread_index="get_global_id(0)", libc_preamble=False, float_suffix="",
    bool_storage="uchar", half_load="f16_to_f32", half_store="f32_to_f16", bitcast_fn="as_{type}")


# CUDA C with no #include, so NVRTC needs no header search path: half and bfloat16 live as their 16-bit
# patterns and convert with single PTX cvt instructions; INFINITY/NAN come from bit patterns, not math.h.
CUDA_PREAMBLE = """#ifndef BAREGRAD_CUDA_PREAMBLE
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
"""

CUDA_DIALECT = Dialect(
    "CUDA", kernel_prefix='extern "C" __global__ void', preamble=CUDA_PREAMBLE, type_names={"bool": "bool"},
    half_storage="unsigned short", thread_index="(int)(blockIdx.x * blockDim.x + threadIdx.x)", libc_preamble=False,
    half_load="f16_to_f32", half_store="f32_to_f16", bitcast_fn="bg_bitcast<{type}>")
