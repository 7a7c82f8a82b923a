"""Render a LinearProgram as LLVM IR text: one function `void name(ptr p0, ..., i32 start, i32 end)`.

The outermost global loop runs over [start, end) so the caller can split it across threads. Loop counters
and accumulators live in allocas of the entry block; LLVM's mem2reg turns them into SSA registers, so this
renderer never builds phi nodes. Values follow the C renderer's semantics: half and bfloat16 compute in
float and round after every op, integer division by 0 gives 0, float -> int saturates (NaN -> 0).
"""
from __future__ import annotations

import ctypes
import math
import struct
from dataclasses import dataclass, field

from baregrad import dtype as dt
from baregrad.ir.linear import Instr, L, LinearProgram, LoopKind
from baregrad.ir.ops import Op, ReduceOp

INT_TYPES = {1: "i8", 2: "i16", 4: "i32", 8: "i64"}
INTRINSIC = {Op.SQRT: "sqrt", Op.EXP: "exp", Op.EXP2: "exp2", Op.LOG: "log", Op.LOG2: "log2", Op.SIN: "sin",
             Op.COS: "cos", Op.TRUNC: "trunc", Op.POW: "pow"}
LIBM = {Op.TANH: "tanh", Op.ERF: "erf"}  # no intrinsic: called from the C library of the process

PREAMBLE = """define internal float @bf16_to_f32(i16 %b) #0 {
  %w = zext i16 %b to i32
  %s = shl i32 %w, 16
  %f = bitcast i32 %s to float
  ret float %f
}
define internal i16 @f32_to_bf16(float %f) #0 {
  %u = bitcast float %f to i32
  %a = and i32 %u, 2147483647
  %isnan = icmp ugt i32 %a, 2139095040
  %h = lshr i32 %u, 16
  %nan = or i32 %h, 64
  %lsb = and i32 %h, 1
  %r0 = add i32 %u, 32767
  %r1 = add i32 %r0, %lsb
  %r = lshr i32 %r1, 16
  %res = select i1 %isnan, i32 %nan, i32 %r
  %t = trunc i32 %res to i16
  ret i16 %t
}
attributes #0 = { alwaysinline nounwind }
"""


def compute_type(d: dt.DType) -> str:
    if d.lanes > 1:  # explicit SIMD from codegen (float32 matmul tiles): LLVM's own vector type
        return f"<{d.lanes} x {compute_type(d.scalar)}>"
    if d is dt.bool_:
        return "i1"
    if d.is_float:
        return "double" if d is dt.float64 else "float"
    return INT_TYPES[d.itemsize]


def storage_type(d: dt.DType) -> str:
    if d.lanes > 1:  # buffers hold scalars; vectors are loaded and stored `lanes` at a time
        return storage_type(d.scalar)
    if d is dt.bool_:
        return "i8"
    if d is dt.float16:
        return "half"
    if d is dt.bfloat16:
        return "i16"
    return compute_type(d)


def float_literal(value: float, d: dt.DType) -> str:
    """LLVM spells float constants as the hex of the double with the same value (it must fit the type)."""
    v = float(value)
    if d is not dt.float64 and math.isfinite(v):
        v = ctypes.c_float(v).value
    return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"


def literal(value, d: dt.DType) -> str:
    if d.lanes > 1:
        lane = f"{compute_type(d.scalar)} {literal(value, d.scalar)}"
        return "zeroinitializer" if not value else f"<{', '.join([lane] * d.lanes)}>"
    if d is dt.bool_:
        return "true" if value else "false"
    if d.is_float:
        return float_literal(value, d)
    lo, hi = dt.min_max_values(d)
    v = int(value)
    return str(v - (1 << d.bits) if d.is_unsigned and v > (hi >> 1) else v) if lo <= v <= hi else str(v)


@dataclass
class _State:
    prog: LinearProgram
    lines: list[str] = field(default_factory=list)
    allocas: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    declares: set[str] = field(default_factory=set)
    tmp: int = 0
    first_global: bool = True

    def fresh(self) -> str:
        self.tmp += 1
        return f"%t{self.tmp}"

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")


def render_llvm(prog: LinearProgram) -> str:
    st = _State(prog)
    for i, ins in enumerate(prog.instrs):
        _instr(st, i, ins)
    params = ", ".join([f"ptr %p{p.index}" for p in prog.params] + ["i32 %start", "i32 %end"])
    body = [f"define void @{prog.name}({params}) #1 {{", "entry:"] + ["  " + a for a in st.allocas]
    body += ["  br label %body0", "body0:"] + st.lines + ["  ret void", "}"]
    return "\n".join([PREAMBLE, *sorted(st.declares), 'attributes #1 = { nounwind "frame-pointer"="none" }',
                      *body, ""])


def _instr(st: _State, i: int, ins: Instr) -> None:
    if ins.op is L.PARAM:
        st.names[i] = f"%p{ins.arg.index}"
    elif ins.op is L.CONST:
        st.names[i] = literal(ins.arg, ins.dtype)
    elif ins.op is L.RANGE:
        _open_loop(st, i, ins)
    elif ins.op is L.END:
        _close_loop(st, ins.src[0])
    elif ins.op in (L.LOAD, L.STORE) and ins.dtype.lanes > 1:
        _vector_memory(st, i, ins)
    elif ins.op is L.ACC:
        ptr = st.names[i] = f"%acc{i}"
        st.allocas.append(f"{ptr} = alloca {compute_type(ins.dtype)}")
        st.emit(f"store {compute_type(ins.dtype)} {literal(ins.arg, ins.dtype)}, ptr {ptr}")
    elif ins.op is L.UPDATE:
        acc = ins.src[0]
        st.names[i] = st.names[acc]
        value = _reduce(st, ins.arg, _operand(st, acc), _operand(st, ins.src[1]), ins.dtype)
        st.emit(f"store {compute_type(ins.dtype)} {_round(st, value, ins.dtype)}, ptr {st.names[acc]}")
    elif ins.op is L.LOAD:
        st.names[i] = _load(st, ins)
    elif ins.op is L.STORE:
        _store(st, ins)
    elif ins.op is L.CAST:
        st.names[i] = _cast(st, _operand(st, ins.src[0]), st.prog.instrs[ins.src[0]].dtype, ins.dtype)
    elif ins.op is L.BITCAST:
        st.names[i] = _bitcast(st, _operand(st, ins.src[0]), st.prog.instrs[ins.src[0]].dtype, ins.dtype)
    else:
        in_d = st.prog.instrs[ins.src[0]].dtype
        args = [_operand(st, s) for s in ins.src]
        if ins.dtype.lanes > 1:  # a scalar operand of a vector op is broadcast, as C's vector extension does
            args = [_splat(st, a, ins.dtype) if st.prog.instrs[s].dtype.lanes == 1 else a
                    for a, s in zip(args, ins.src)]
            in_d = ins.dtype
        st.names[i] = _round(st, _alu(st, ins.arg, args, in_d, ins.dtype), ins.dtype)


def _operand(st: _State, i: int) -> str:
    """An accumulator is read fresh from its alloca at every use; anything else is its SSA name or literal."""
    ins = st.prog.instrs[i]
    if ins.op in (L.ACC, L.UPDATE):
        out = st.fresh()
        st.emit(f"{out} = load {compute_type(ins.dtype)}, ptr {st.names[i]}")
        return out
    return st.names[i]


def _open_loop(st: _State, i: int, ins: Instr) -> None:
    loop = ins.arg
    outer = loop.kind is LoopKind.GLOBAL and st.first_global
    st.first_global = st.first_global and not outer
    ptr, name = f"%l{i}.addr", f"%l{i}"  # by position: two loops may share a name
    st.allocas.append(f"{ptr} = alloca i32")
    st.emit(f"store i32 {'%start' if outer else 0}, ptr {ptr}")
    st.emit(f"br label %head{i}")
    st.label(f"head{i}")
    st.emit(f"{name} = load i32, ptr {ptr}")
    st.emit(f"%cond{i} = icmp slt i32 {name}, {'%end' if outer else loop.size}")
    st.emit(f"br i1 %cond{i}, label %loop{i}, label %exit{i}")
    st.label(f"loop{i}")
    st.names[i] = name


def _close_loop(st: _State, rng: int) -> None:
    ptr = f"%l{rng}.addr"
    nxt = st.fresh()
    st.emit(f"{nxt} = add nsw i32 %l{rng}, 1")
    st.emit(f"store i32 {nxt}, ptr {ptr}")
    st.emit(f"br label %head{rng}")
    st.label(f"exit{rng}")


def _splat(st: _State, scalar: str, d: dt.DType) -> str:
    one, out, vec, elem = st.fresh(), st.fresh(), compute_type(d), compute_type(d.scalar)
    st.emit(f"{one} = insertelement {vec} poison, {elem} {scalar}, i32 0")
    st.emit(f"{out} = shufflevector {vec} {one}, {vec} poison, <{d.lanes} x i32> zeroinitializer")
    return out


def _vector_memory(st: _State, i: int, ins: Instr) -> None:
    """`lanes` consecutive elements at once; align 4, so a vector may start at any element."""
    if ins.arg:
        _strided_vector_memory(st, i, ins)
        return
    ptr = _address(st, ins.src[0], ins.src[1])
    if ins.op is L.LOAD:
        out = st.names[i] = st.fresh()
        st.emit(f"{out} = load {compute_type(ins.dtype)}, ptr {ptr}, align 4")
    else:
        st.emit(f"store {compute_type(ins.dtype)} {_operand(st, ins.src[2])}, ptr {ptr}, align 4")


def _strided_vector_memory(st: _State, i: int, ins: Instr) -> None:
    """A vector whose lanes lie `ins.arg` elements apart (a tile along a conv's output channels, into NCHW): one
    scalar access per lane, from one base pointer."""
    vec, elem = compute_type(ins.dtype), compute_type(ins.dtype.scalar)
    base = _address(st, ins.src[0], ins.src[1])
    acc = "poison"
    for k in range(ins.dtype.lanes):
        ptr = st.fresh()
        st.emit(f"{ptr} = getelementptr inbounds {elem}, ptr {base}, i32 {k * ins.arg}")
        value = st.fresh()
        if ins.op is L.LOAD:
            st.emit(f"{value} = load {elem}, ptr {ptr}, align 4")
            nxt = st.fresh()
            st.emit(f"{nxt} = insertelement {vec} {acc}, {elem} {value}, i32 {k}")
            acc = nxt
        else:
            st.emit(f"{value} = extractelement {vec} {_operand(st, ins.src[2])}, i32 {k}")
            st.emit(f"store {elem} {value}, ptr {ptr}, align 4")
    if ins.op is L.LOAD:
        st.names[i] = acc


def _address(st: _State, param: int, index: int, safe_valid: str | None = None) -> str:
    d = st.prog.instrs[param].dtype
    idx_t = compute_type(st.prog.instrs[index].dtype)
    idx = _operand(st, index)
    if safe_valid is not None:  # a masked-off load still must not read out of bounds
        guarded = st.fresh()
        st.emit(f"{guarded} = select i1 {safe_valid}, {idx_t} {idx}, {idx_t} 0")
        idx = guarded
    ptr = st.fresh()
    st.emit(f"{ptr} = getelementptr inbounds {storage_type(d)}, ptr {st.names[param]}, {idx_t} {idx}")
    return ptr


def _load(st: _State, ins: Instr) -> str:
    d = ins.dtype
    valid = _operand(st, ins.src[2]) if len(ins.src) > 2 and st.names.get(ins.src[2]) != "true" else None
    raw = st.fresh()
    st.emit(f"{raw} = load {storage_type(d)}, ptr {_address(st, ins.src[0], ins.src[1], valid)}")
    value = _from_storage(st, raw, d)
    if valid is None:
        return value
    out = st.fresh()
    st.emit(f"{out} = select i1 {valid}, {compute_type(d)} {value}, {compute_type(d)} {literal(0, d)}")
    return out


def _store(st: _State, ins: Instr) -> None:
    d = ins.dtype
    value = _to_storage(st, _operand(st, ins.src[2]), d)
    st.emit(f"store {storage_type(d)} {value}, ptr {_address(st, ins.src[0], ins.src[1])}")


def _from_storage(st: _State, raw: str, d: dt.DType) -> str:
    out = st.fresh()
    if d is dt.bool_:
        st.emit(f"{out} = icmp ne i8 {raw}, 0")
    elif d is dt.float16:
        st.emit(f"{out} = fpext half {raw} to float")
    elif d is dt.bfloat16:
        st.emit(f"{out} = call float @bf16_to_f32(i16 {raw})")
    else:
        return raw
    return out


def _to_storage(st: _State, value: str, d: dt.DType) -> str:
    out = st.fresh()
    if d is dt.bool_:
        st.emit(f"{out} = zext i1 {value} to i8")
    elif d is dt.float16:
        st.emit(f"{out} = fptrunc float {value} to half")
    elif d is dt.bfloat16:
        st.emit(f"{out} = call i16 @f32_to_bf16(float {value})")
    else:
        return value
    return out


def _round(st: _State, value: str, d: dt.DType) -> str:
    """Half and bfloat16 results are rounded to their format after every op, as the C renderer does."""
    if d not in (dt.float16, dt.bfloat16):
        return value
    return _from_storage(st, _to_storage(st, value, d), d)


def _reduce(st: _State, op: ReduceOp, acc: str, value: str, d: dt.DType) -> str:
    if op is ReduceOp.SUM:
        return _alu(st, Op.ADD, [acc, value], d, d)
    if op is ReduceOp.PROD:
        return _alu(st, Op.MUL, [acc, value], d, d)
    return _alu(st, Op.MAX, [acc, value], d, d)


def _call(st: _State, name: str, ty: str, args: list[str]) -> str:
    st.declares.add(f"declare {ty} @{name}({', '.join([ty] * len(args))})")
    out = st.fresh()
    st.emit(f"{out} = call {ty} @{name}({', '.join(f'{ty} {a}' for a in args)})")
    return out


def _binary(st: _State, instr: str, ty: str, a: str, b: str) -> str:
    out = st.fresh()
    st.emit(f"{out} = {instr} {ty} {a}, {b}")
    return out


def _select(st: _State, cond: str, ty: str, a: str, b: str) -> str:
    out = st.fresh()
    st.emit(f"{out} = select i1 {cond}, {ty} {a}, {ty} {b}")
    return out


def _alu(st: _State, op: Op, s: list[str], in_d: dt.DType, d: dt.DType) -> str:
    ty = compute_type(in_d)
    if in_d.is_float:
        return _float_alu(st, op, s, in_d, ty)
    if op is Op.WHERE:
        return _select(st, s[0], compute_type(d), s[1], s[2])
    if in_d is dt.bool_ and op in (Op.ADD, Op.MUL, Op.NEG, Op.NOT):
        op = {Op.ADD: Op.OR, Op.MUL: Op.AND}.get(op, Op.NOT)
    if op is Op.NOT:
        zero = _binary(st, "icmp eq", ty, s[0], "0")
        if ty == "i1":
            return zero
        out = st.fresh()
        st.emit(f"{out} = zext i1 {zero} to {ty}")
        return out
    if op is Op.NEG:
        return _binary(st, "sub", ty, "0", s[0])
    if op is Op.MAX:
        return _select(st, _binary(st, "icmp " + ("ugt" if in_d.is_unsigned or ty == "i1" else "sgt"), ty, *s),
                       ty, s[0], s[1])
    if op in (Op.IDIV, Op.MOD):
        return _int_divmod(st, op, s, in_d, ty)
    signed = not in_d.is_unsigned and ty != "i1"
    simple = {Op.ADD: "add", Op.SUB: "sub", Op.MUL: "mul", Op.AND: "and", Op.OR: "or", Op.XOR: "xor",
              Op.SHL: "shl", Op.SHR: "ashr" if signed else "lshr", Op.CMPLT: "icmp slt" if signed else "icmp ult",
              Op.CMPEQ: "icmp eq", Op.CMPNE: "icmp ne"}
    if op in simple:
        return _binary(st, simple[op], ty, *s)
    raise NotImplementedError(f"LLVM cannot render {op} on {in_d.name}")


def _int_divmod(st: _State, op: Op, s: list[str], in_d: dt.DType, ty: str) -> str:
    """Division and modulo by 0 give 0 (and INT_MIN / -1 wraps) instead of the trap LLVM leaves undefined."""
    zero = _binary(st, "icmp eq", ty, s[1], "0")
    if in_d.is_unsigned:
        safe = _select(st, zero, ty, "1", s[1])
        q = _binary(st, "udiv" if op is Op.IDIV else "urem", ty, s[0], safe)
        return _select(st, zero, ty, "0", q)
    minus1 = _binary(st, "icmp eq", ty, s[1], "-1")
    special = _binary(st, "or", "i1", zero, minus1)
    safe = _select(st, special, ty, "1", s[1])
    q = _binary(st, "sdiv" if op is Op.IDIV else "srem", ty, s[0], safe)
    alt = _binary(st, "sub", ty, "0", s[0]) if op is Op.IDIV else "0"
    return _select(st, zero, ty, "0", _select(st, minus1, ty, alt, q))


def _float_alu(st: _State, op: Op, s: list[str], d: dt.DType, ty: str) -> str:
    suffix = ".f64" if ty == "double" else ".f32"
    if op in INTRINSIC:
        return _call(st, f"llvm.{INTRINSIC[op]}{suffix}", ty, s)
    if op in LIBM:
        return _call(st, LIBM[op] + ("" if ty == "double" else "f"), ty, s)
    if op is Op.NEG:
        out = st.fresh()
        st.emit(f"{out} = fneg {ty} {s[0]}")
        return out
    if op is Op.RECIP:
        return _binary(st, "fdiv", ty, float_literal(1.0, d), s[0])
    if op is Op.MAX:
        gt = _binary(st, "fcmp ogt", ty, *s)
        nan = _binary(st, "fcmp uno", ty, s[0], s[0])
        return _select(st, _binary(st, "or", "i1", gt, nan), ty, s[0], s[1])
    if op is Op.WHERE:
        raise AssertionError("where is dispatched on its condition's dtype")
    if op is Op.IDIV:
        return _call(st, f"llvm.trunc{suffix}", ty, [_binary(st, "fdiv", ty, *s)])
    simple = {Op.ADD: "fadd", Op.SUB: "fsub", Op.MUL: "fmul", Op.FDIV: "fdiv", Op.MOD: "frem",
              Op.CMPLT: "fcmp olt", Op.CMPEQ: "fcmp oeq", Op.CMPNE: "fcmp une"}
    if op in simple:
        return _binary(st, simple[op], ty, *s)
    raise NotImplementedError(f"LLVM cannot render {op} on {d.name}")


def _cast(st: _State, x: str, src: dt.DType, d: dt.DType) -> str:
    st_, dt_ = compute_type(src), compute_type(d)
    if d is dt.bool_:
        return _binary(st, "fcmp une" if src.is_float else "icmp ne", st_, x, "0.0" if src.is_float else "0")
    out = st.fresh()
    if d.is_float and src.is_float:
        if st_ == dt_:
            return _round(st, x, d)
        st.emit(f"{out} = {'fpext' if dt_ == 'double' else 'fptrunc'} {st_} {x} to {dt_}")
        return _round(st, out, d)
    if d.is_float:
        conv = "uitofp" if src.is_unsigned or src is dt.bool_ else "sitofp"
        st.emit(f"{out} = {conv} {st_} {x} to {dt_}")
        return _round(st, out, d)
    if src.is_float:  # saturating like the C renderer's explicit checks: NaN -> 0, out of range -> min/max
        name = f"llvm.fpto{'u' if d.is_unsigned else 's'}i.sat.{dt_}.{'f64' if st_ == 'double' else 'f32'}"
        st.declares.add(f"declare {dt_} @{name}({st_})")
        st.emit(f"{out} = call {dt_} @{name}({st_} {x})")
        return out
    bits_s, bits_d = int(st_[1:]), int(dt_[1:])
    if bits_s == bits_d:
        return x
    conv = "trunc" if bits_d < bits_s else ("zext" if src.is_unsigned or src is dt.bool_ else "sext")
    st.emit(f"{out} = {conv} {st_} {x} to {dt_}")
    return out


def _bitcast(st: _State, x: str, src: dt.DType, d: dt.DType) -> str:
    raw = _to_storage(st, x, src)
    out = st.fresh()
    st.emit(f"{out} = bitcast {storage_type(src)} {raw} to {storage_type(d)}")
    return _from_storage(st, out, d)
