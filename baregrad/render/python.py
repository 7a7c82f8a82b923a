"""Render a LinearProgram as a Python function: the PYTHON reference device runs it with no compiler.

Buffers are Python lists of values. Every result is rounded to its dtype (float32 through a C float,
float16/bfloat16 through their bit formats, integers wrapped), so the reference matches C semantics.
"""
from __future__ import annotations

import ctypes
import math
import struct

from baregrad import dtype as dt
from baregrad.ir.linear import L, LinearProgram
from baregrad.ir.ops import Op, ReduceOp

INF, NAN = float("inf"), float("nan")


def f32(x: float) -> float:
    return ctypes.c_float(x).value


def f16(x: float) -> float:
    try:
        return struct.unpack("<e", struct.pack("<e", x))[0]
    except (OverflowError, struct.error):
        return math.copysign(INF, x) if not math.isnan(x) else NAN


def bf16_bits(x: float) -> int:
    (u,) = struct.unpack("<I", struct.pack("<f", f32(x)))
    if (u & 0x7FFFFFFF) > 0x7F800000:
        return (u >> 16) | 0x40
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def bf16_from_bits(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", (b & 0xFFFF) << 16))[0]


def bf16(x: float) -> float:
    return bf16_from_bits(bf16_bits(x))


def wrap(x: int, bits: int, signed: bool) -> int:
    x &= (1 << bits) - 1
    return x - (1 << bits) if signed and x >> (bits - 1) else x


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def exp2(x: float) -> float:
    try:
        return 2.0 ** x
    except OverflowError:
        return INF


def log(x: float) -> float:
    return math.log(x) if x > 0 else (-INF if x == 0 else NAN) if not math.isnan(x) else NAN


def log2(x: float) -> float:
    return math.log2(x) if x > 0 else (-INF if x == 0 else NAN) if not math.isnan(x) else NAN


def sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN if not math.isinf(x) or x < 0 else INF


def sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else NAN


def cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else NAN


def trunc(x: float) -> float:
    return float(math.trunc(x)) if math.isfinite(x) else x


def fdiv(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def fpow(a: float, b: float) -> float:
    try:
        out = a ** b
    except ZeroDivisionError:
        return INF
    except OverflowError:
        return INF if a > 0 or float(b).is_integer() and int(b) % 2 == 0 else -INF
    return NAN if isinstance(out, complex) else float(out)


def fmax(a, b):
    return a if (a > b or a != a) else b


def fmod(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)
    except ValueError:
        return NAN


def itrunc_div(a: int, b: int) -> int:
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def itrunc_mod(a: int, b: int) -> int:
    return 0 if b == 0 else a - b * itrunc_div(a, b)


def to_int(x: float, d: dt.DType) -> int:
    if x != x:
        return 0
    lo, hi = dt.min_max_values(d)
    return int(lo) if x <= lo else int(hi) if x >= hi else int(x)


def bitcast(x, src_fmt: str, dst_fmt: str):
    return struct.unpack("<" + dst_fmt, struct.pack("<" + src_fmt, x))[0]


RUNTIME = {name: globals()[name] for name in ("f32", "f16", "bf16", "bf16_bits", "bf16_from_bits", "wrap", "exp",
                                              "exp2", "log", "log2", "sqrt", "sin", "cos", "trunc", "fdiv", "fpow",
                                              "fmax", "fmod", "itrunc_div", "itrunc_mod", "to_int", "bitcast")}
RUNTIME.update(math=math, INF=INF, NAN=NAN, tanh=math.tanh, erf=math.erf)

UNARY_FN = {Op.EXP: "exp", Op.EXP2: "exp2", Op.LOG: "log", Op.LOG2: "log2", Op.SQRT: "sqrt", Op.SIN: "sin",
            Op.COS: "cos", Op.TANH: "tanh", Op.ERF: "erf", Op.TRUNC: "trunc"}


def round_to(d: dt.DType, expr: str) -> str:
    if d is dt.float32:
        return f"f32({expr})"
    if d is dt.float16:
        return f"f16({expr})"
    if d is dt.bfloat16:
        return f"bf16({expr})"
    if d is dt.bool_:
        return f"bool({expr})"
    if d.is_int:
        return f"wrap({expr}, {d.bits}, {not d.is_unsigned})"
    return expr


def literal(value, d: dt.DType) -> str:
    if d is dt.bool_:
        return repr(bool(value))
    if d.is_float:
        v = float(value)
        return "NAN" if math.isnan(v) else ("INF" if v > 0 else "-INF") if math.isinf(v) else repr(v)
    return repr(int(value))


def render_python(prog: LinearProgram) -> str:
    names: dict[int, str] = {}
    lines: list[str] = []
    depth = 1
    for i, ins in enumerate(prog.instrs):
        if ins.op is L.PARAM:
            names[i] = f"p{ins.arg.index}"
            continue
        if ins.op is L.CONST:
            names[i] = literal(ins.arg, ins.dtype)
            continue
        if ins.op is L.END:
            depth -= 1
            continue
        if ins.op is L.RANGE:
            names[i] = ins.arg.name
            lines.append("  " * depth + f"for {ins.arg.name} in range({ins.arg.size}):")
            depth += 1
            continue
        lines.append("  " * depth + _statement(i, ins, prog, names))
    params = ", ".join(f"p{p.index}" for p in prog.params)
    return "\n".join([f"def {prog.name}({params}):"] + lines + ["  return None", ""])


def _statement(i: int, ins, prog: LinearProgram, names: dict[int, str]) -> str:
    src = [names[s] for s in ins.src]
    name = names[i] = f"v{i}"
    d = ins.dtype
    if ins.op is L.LOAD:
        value = f"{src[0]}[{src[1]}]"
        if len(src) > 2 and src[2] != "True":
            value = f"({value} if {src[2]} else {literal(0, d)})"
        return f"{name} = {value}"
    if ins.op is L.STORE:
        return f"{src[0]}[{src[1]}] = {src[2]}"
    if ins.op is L.ACC:
        return f"{name} = {literal(ins.arg, d)}"
    if ins.op is L.UPDATE:
        acc = names[i] = names[ins.src[0]]
        return f"{acc} = {round_to(d, _reduce(ins.arg, acc, src[1], d))}"
    in_d = prog.instrs[ins.src[0]].dtype
    if ins.op is L.CAST:
        return f"{name} = {_cast(src[0], in_d, d)}"
    if ins.op is L.BITCAST:
        return f"{name} = {_bitcast(src[0], in_d, d)}"
    return f"{name} = {round_to(d, _alu(ins.arg, src, in_d))}"


def _reduce(op: ReduceOp, acc: str, value: str, d: dt.DType) -> str:
    if op is ReduceOp.SUM:
        return f"({acc} or {value})" if d is dt.bool_ else f"{acc} + {value}"
    if op is ReduceOp.PROD:
        return f"({acc} and {value})" if d is dt.bool_ else f"{acc} * {value}"
    return f"fmax({acc}, {value})"


def _cast(x: str, src: dt.DType, d: dt.DType) -> str:
    if d is dt.bool_:
        return f"({x} != 0)"
    if d.is_float:
        return round_to(d, f"float({x})")
    if src.is_float:
        return f"to_int({x}, dtype_{d.name})"
    return round_to(d, f"int({x})")


def _bitcast(x: str, src: dt.DType, d: dt.DType) -> str:
    if src is dt.bfloat16:
        return _bitcast(f"bf16_bits({x})", dt.uint16, d)
    if d is dt.bfloat16:
        return f"bf16_from_bits({_bitcast(x, src, dt.uint16)})"
    return f"bitcast({x}, {src.fmt!r}, {d.fmt!r})"


def _alu(op: Op, s: list[str], in_d: dt.DType) -> str:
    is_float = in_d.is_float
    if op is Op.NEG:
        return f"(not {s[0]})" if in_d is dt.bool_ else f"(-{s[0]})"
    if op is Op.NOT:
        return f"(not {s[0]})"
    if op is Op.RECIP:
        return f"fdiv(1.0, {s[0]})"
    if op in UNARY_FN:
        return f"{UNARY_FN[op]}({s[0]})"
    if in_d is dt.bool_ and op in (Op.ADD, Op.MUL):
        return f"({s[0]} {'or' if op is Op.ADD else 'and'} {s[1]})"
    simple = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.CMPLT: "<", Op.CMPEQ: "==", Op.CMPNE: "!=", Op.AND: "&",
              Op.OR: "|", Op.XOR: "^", Op.SHL: "<<", Op.SHR: ">>"}
    if op in simple:
        return f"({s[0]} {simple[op]} {s[1]})"
    if op is Op.FDIV:
        return f"fdiv({s[0]}, {s[1]})"
    if op is Op.POW:
        return f"fpow({s[0]}, {s[1]})"
    if op is Op.MAX:
        return f"fmax({s[0]}, {s[1]})"
    if op is Op.WHERE:
        return f"({s[1]} if {s[0]} else {s[2]})"
    if op is Op.IDIV:
        return f"trunc(fdiv({s[0]}, {s[1]}))" if is_float else f"itrunc_div({s[0]}, {s[1]})"
    if op is Op.MOD:
        return f"fmod({s[0]}, {s[1]})" if is_float else f"itrunc_mod({s[0]}, {s[1]})"
    raise NotImplementedError(f"PYTHON cannot render {op}")


RUNTIME.update({f"dtype_{d.name}": d for d in dt.ALL})
