"""The closed set of primitive ops. Every Tensor method decomposes into these; every backend renders them.

Groups:
- UNARY / BINARY / TERNARY: elementwise ALU ops, rendered by every backend.
- REDUCE: one op, with a ReduceOp (sum, max, prod) and the reduced axes in its arg.
- MOVEMENT: reshape, permute, expand, pad, shrink, flip. They never move data: lowering turns them into
  index arithmetic on the loads below them.
- SOURCE: a realized buffer, a scalar constant, `arange`-style indices.
- Others: cast/bitcast, contiguous (a kernel boundary), assign (write into an existing buffer), gather
  (indexed load; the index is data).
- KERNEL-LEVEL ops appear only after lowering: loop variables, loads, stores and reductions over loops.
"""
from __future__ import annotations

import enum


class Op(enum.Enum):
    # members are singletons: identity hashing is correct and much faster than Enum's name hashing
    __hash__ = object.__hash__
    # On Python 3.11, `Op.ADD` costs ~0.3 us: EnumType.__getattr__ sends every class attribute lookup through
    # a Python-level hook. Code on the eager path (node creation, realize) binds the members it tests to
    # module names once instead.

    # unary
    NEG = enum.auto()
    RECIP = enum.auto()
    SQRT = enum.auto()
    EXP = enum.auto()
    EXP2 = enum.auto()
    LOG = enum.auto()
    LOG2 = enum.auto()
    SIN = enum.auto()
    COS = enum.auto()
    TANH = enum.auto()
    ERF = enum.auto()
    TRUNC = enum.auto()
    NOT = enum.auto()
    # binary
    ADD = enum.auto()
    SUB = enum.auto()
    MUL = enum.auto()
    FDIV = enum.auto()
    IDIV = enum.auto()
    MOD = enum.auto()
    POW = enum.auto()
    MAX = enum.auto()
    CMPLT = enum.auto()
    CMPEQ = enum.auto()
    CMPNE = enum.auto()
    AND = enum.auto()
    OR = enum.auto()
    XOR = enum.auto()
    SHL = enum.auto()
    SHR = enum.auto()
    # ternary
    WHERE = enum.auto()
    # type
    CAST = enum.auto()
    BITCAST = enum.auto()
    # reduce
    REDUCE = enum.auto()
    # movement
    RESHAPE = enum.auto()
    PERMUTE = enum.auto()
    EXPAND = enum.auto()
    PAD = enum.auto()
    SHRINK = enum.auto()
    FLIP = enum.auto()
    # sources and boundaries
    BUFFER = enum.auto()
    CONST = enum.auto()
    ARANGE = enum.auto()
    CONTIGUOUS = enum.auto()
    ASSIGN = enum.auto()
    GATHER = enum.auto()
    # kernel level (after lowering)
    VAR = enum.auto()
    LOAD = enum.auto()
    STORE = enum.auto()
    LOOP_REDUCE = enum.auto()
    SINK = enum.auto()


class ReduceOp(enum.Enum):
    __hash__ = object.__hash__

    SUM = "sum"
    MAX = "max"
    PROD = "prod"


UNARY = frozenset({Op.NEG, Op.RECIP, Op.SQRT, Op.EXP, Op.EXP2, Op.LOG, Op.LOG2, Op.SIN, Op.COS, Op.TANH, Op.ERF,
                   Op.TRUNC, Op.NOT})
BINARY = frozenset({Op.ADD, Op.SUB, Op.MUL, Op.FDIV, Op.IDIV, Op.MOD, Op.POW, Op.MAX, Op.CMPLT, Op.CMPEQ, Op.CMPNE,
                    Op.AND, Op.OR, Op.XOR, Op.SHL, Op.SHR})
TERNARY = frozenset({Op.WHERE})
ALU = UNARY | BINARY | TERNARY
ELEMENTWISE = ALU | {Op.CAST, Op.BITCAST}
MOVEMENT = frozenset({Op.RESHAPE, Op.PERMUTE, Op.EXPAND, Op.PAD, Op.SHRINK, Op.FLIP})
COMPARISON = frozenset({Op.CMPLT, Op.CMPEQ, Op.CMPNE})
COMMUTATIVE = frozenset({Op.ADD, Op.MUL, Op.MAX, Op.CMPEQ, Op.CMPNE, Op.AND, Op.OR, Op.XOR})
