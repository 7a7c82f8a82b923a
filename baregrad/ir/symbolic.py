"""Integer index algebra: constructors that simplify as they build, and range analysis.

Index expressions are ordinary Nodes (CONST, VAR, ADD, MUL, IDIV, MOD, comparisons, AND) of the index
dtype. Every constructor here runs the SYMBOLIC rules on the node it builds, so expressions stay in a
normal form: sums are flat with like terms combined, constants fold, and div/mod fold using the value
ranges of their operands (e.g. `(x//4)*4 + x%4 -> x`, `(8*a + b)//8 -> a` when 0 <= b < 8).
Division is floor division and all rules hold for it; negative values only appear in masked-off lanes.
"""
from __future__ import annotations

import math

from baregrad import dtype as dt
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.ir.rewrite import Pat, PatternMatcher

INDEX = dt.int32
BOOL = dt.bool_


def const(value: int | bool, dtype: dt.DType = INDEX) -> Node:
    return Node(Op.CONST, dtype, (), bool(value) if dtype is BOOL else int(value))


def var(name: str, size: int) -> Node:
    """A loop variable ranging over [0, size)."""
    return Node(Op.VAR, INDEX, (), (name, size))


def is_const(node: Node, value: int | None = None) -> bool:
    return node.op is Op.CONST and not node.src and (value is None or node.arg == value)


# ---- range analysis ----

def vmin(node: Node) -> int:
    return value_range(node)[0]


def vmax(node: Node) -> int:
    return value_range(node)[1]


def value_range(node: Node) -> tuple[int, int]:
    if node._range is None:
        node._range = _compute_range(node)
    return node._range


def _compute_range(node: Node) -> tuple[int, int]:
    op, src = node.op, node.src
    if op is Op.CONST and not src:
        return (int(node.arg), int(node.arg))
    if op is Op.VAR:
        return (0, node.arg[1] - 1)
    if op in (Op.CMPLT, Op.CMPEQ, Op.CMPNE, Op.AND, Op.OR, Op.NOT) and node.dtype is BOOL:
        return (0, 1)
    if op is Op.ADD:
        (a0, a1), (b0, b1) = value_range(src[0]), value_range(src[1])
        return (a0 + b0, a1 + b1)
    if op is Op.MUL:
        (a0, a1), (b0, b1) = value_range(src[0]), value_range(src[1])
        products = (a0 * b0, a0 * b1, a1 * b0, a1 * b1)
        return (min(products), max(products))
    if op is Op.IDIV and is_const(src[1]) and src[1].arg > 0:
        lo, hi = value_range(src[0])
        return (lo // src[1].arg, hi // src[1].arg)
    if op is Op.MOD and is_const(src[1]) and src[1].arg > 0:
        lo, hi = value_range(src[0])
        c = src[1].arg
        if lo >= 0 and hi < c:
            return (lo, hi)
        return (0, c - 1) if lo >= 0 else (-(c - 1), c - 1)
    if op is Op.MAX:
        (a0, a1), (b0, b1) = value_range(src[0]), value_range(src[1])
        return (max(a0, b0), max(a1, b1))
    if op is Op.WHERE:
        (a0, a1), (b0, b1) = value_range(src[1]), value_range(src[2])
        return (min(a0, b0), max(a1, b1))
    return dt.min_max_values(node.dtype) if node.dtype.is_int or node.dtype is BOOL else (-2**63, 2**63 - 1)


# ---- sums in normal form ----

def _terms(node: Node) -> tuple[dict[Node, int], int]:
    """node == sum(coeff * term) + constant. The ADD tree is walked with an explicit stack, leaves left to right, so
    terms keep the order of their first appearance (the rebuilt sum, and the kernel source, do not change)."""
    terms: dict[Node, int] = {}
    constant = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if is_const(n):
            constant += int(n.arg)
        elif n.op is Op.ADD:
            stack.append(n.src[1])
            stack.append(n.src[0])
        elif n.op is Op.MUL and is_const(n.src[1]):
            terms[n.src[0]] = terms.get(n.src[0], 0) + int(n.src[1].arg)
        else:
            terms[n] = terms.get(n, 0) + 1
    return terms, constant


linear_terms = _terms  # the public name: codegen reads an index's terms (node == sum(coeff * term) + c)


def _build_sum(terms: dict[Node, int], constant: int) -> Node:
    out: Node | None = None
    for term, coeff in terms.items():
        if coeff == 0:
            continue
        part = term if coeff == 1 else Node(Op.MUL, INDEX, (term, const(coeff)))
        out = part if out is None else Node(Op.ADD, INDEX, (out, part))
    if out is None:
        return const(constant)
    return out if constant == 0 else Node(Op.ADD, INDEX, (out, const(constant)))


def _fold_div_mod_pairs(terms: dict[Node, int]) -> bool:
    """(x//c)*(c*k) + (x%c)*k -> x*k, in place; True if anything changed."""
    for term, coeff in list(terms.items()):
        if term.op is not Op.MOD or not is_const(term.src[1]) or coeff == 0:
            continue
        x, c = term.src[0], term.src[1].arg
        partner = Node(Op.IDIV, INDEX, (x, term.src[1]))
        # `partner in terms`: with c == 0 (a size-0 dim) a missing partner would also compare equal
        if partner in terms and terms[partner] == coeff * c:
            del terms[term]
            del terms[partner]
            terms[x] = terms.get(x, 0) + coeff
            return True
    return False


def _normalize_add(node: Node) -> Node | None:
    if node.dtype is not INDEX:
        return None
    terms, constant = _terms(node)
    while _fold_div_mod_pairs(terms):
        pass
    out = _build_sum(terms, constant)
    return None if out is node else out


def _normalize_mul(node: Node) -> Node | None:
    a, b = node.src
    if is_const(a) and not is_const(b):
        return Node(Op.MUL, node.dtype, (b, a))
    if not is_const(b):
        return None
    c = int(b.arg)
    if is_const(a):
        return const(int(a.arg) * c, node.dtype)
    if c == 0:
        return const(0, node.dtype)
    if c == 1:
        return a
    if node.dtype is not INDEX:
        return None
    if a.op is Op.ADD or (a.op is Op.MUL and is_const(a.src[1])):
        terms, constant = _terms(a)
        return _build_sum({t: k * c for t, k in terms.items()}, constant * c)
    return None


def _split_by_divisor(node: Node, c: int) -> tuple[Node, Node]:
    """node == quotient*c + rest. A non-negative term's coefficient k splits into (k // c)*c + k % c, so
    (11*r + g) // 10 becomes r + (r + g) // 10; other terms move only when c divides their coefficient."""
    terms, constant = _terms(node)
    quotient: dict[Node, int] = {}
    rest: dict[Node, int] = {}
    for t, k in terms.items():
        if k % c == 0 or (k > 0 and vmin(t) >= 0):
            quotient[t] = k // c
            rest[t] = k % c
        else:
            rest[t] = k
    return _build_sum(quotient, constant // c), _build_sum(rest, constant % c)


def _split_by_factor(x: Node, c: int) -> tuple[int, Node, Node] | None:
    """x == g*big + small with g > 1 dividing c and 0 <= small < g, or None. Then x // c == big // (c // g) and
    x % c == g*(big % (c // g)) + small: (16*a + b) // 32768 becomes a // 2048 when 0 <= b < 16, which is how
    an index looks once codegen splits a loop into blocks of 16."""
    terms, constant = _terms(x)
    for g in sorted({math.gcd(c, k) for k in terms.values()}, reverse=True):
        if g <= 1:
            break
        big = {t: k // g for t, k in terms.items() if k % g == 0}
        small = _build_sum({t: k for t, k in terms.items() if k % g}, constant % g)
        if big and vmin(small) >= 0 and vmax(small) < g:
            return g, _build_sum(big, constant // g), small
    return None


def _fold_idiv(node: Node) -> Node | None:
    x, divisor = node.src
    if not is_const(divisor) or node.dtype is not INDEX or divisor.arg <= 0:
        return None
    c = int(divisor.arg)
    if c == 1:
        return x
    if is_const(x):
        return const(int(x.arg) // c)
    lo, hi = value_range(x)
    if lo >= 0 and hi < c:
        return const(0)
    if lo // c == hi // c:
        return const(lo // c)
    if x.op is Op.IDIV and is_const(x.src[1]) and x.src[1].arg > 0:
        return idiv(x.src[0], c * x.src[1].arg)
    if x.op is Op.MUL and is_const(x.src[1]) and x.src[1].arg % c == 0:
        return mul(x.src[0], x.src[1].arg // c)
    if x.op is Op.MOD and is_const(x.src[1]) and x.src[1].arg % c == 0 and vmin(x.src[0]) >= 0:
        return mod(idiv(x.src[0], c), x.src[1].arg // c)
    if x.op is Op.ADD:
        quotient, rest = _split_by_divisor(x, c)
        if not is_const(quotient, 0) and vmin(rest) >= 0:
            return add(quotient, idiv(rest, c))
        factored = _split_by_factor(x, c) if lo >= 0 else None
        if factored is not None:
            g, big, _ = factored
            return idiv(big, c // g)
    return None


def _fold_mod(node: Node) -> Node | None:
    x, divisor = node.src
    if not is_const(divisor) or node.dtype is not INDEX or divisor.arg <= 0:
        return None
    c = int(divisor.arg)
    if c == 1:
        return const(0)
    if is_const(x):
        return const(int(x.arg) % c)
    lo, hi = value_range(x)
    if lo >= 0 and hi < c:
        return x
    if x.op is Op.MOD and is_const(x.src[1]) and x.src[1].arg % c == 0:
        return mod(x.src[0], c)
    if x.op is Op.MUL and is_const(x.src[1]) and x.src[1].arg % c == 0:
        return const(0)
    if x.op is Op.ADD:
        quotient, rest = _split_by_divisor(x, c)
        # MOD truncates like C, so dropping multiples of c is exact only while x and rest keep one sign
        if not is_const(quotient, 0) and lo >= 0 and vmin(rest) >= 0:
            return mod(rest, c)
        factored = _split_by_factor(x, c) if lo >= 0 else None
        if factored is not None:
            g, big, small = factored
            return add(mul(mod(big, c // g), g), small)
    return None


def _fold_compare(node: Node) -> Node | None:
    (a0, a1), (b0, b1) = value_range(node.src[0]), value_range(node.src[1])
    if node.op is Op.CMPLT:
        if a1 < b0:
            return const(True, BOOL)
        if a0 >= b1:
            return const(False, BOOL)
    if node.op is Op.CMPEQ and a0 == a1 == b0 == b1:
        return const(True, BOOL)
    if node.op in (Op.CMPEQ, Op.CMPNE) and (a1 < b0 or b1 < a0):
        return const(node.op is Op.CMPNE, BOOL)
    return None


def _fold_and(node: Node) -> Node | None:
    a, b = node.src
    if node.dtype is not BOOL:
        return None
    for x, y in ((a, b), (b, a)):
        if is_const(x):
            return y if x.arg else x
    return a if a is b else None


SYMBOLIC = PatternMatcher([
    (Pat(Op.ADD, name="node"), _normalize_add),
    (Pat(Op.MUL, name="node"), _normalize_mul),
    (Pat(Op.IDIV, name="node"), _fold_idiv),
    (Pat(Op.MOD, name="node"), _fold_mod),
    (Pat(frozenset({Op.CMPLT, Op.CMPEQ, Op.CMPNE}), name="node", where=lambda n: n.src[0].dtype is INDEX),
     _fold_compare),
    (Pat(Op.AND, name="node"), _fold_and),
])


def _simplified(node: Node) -> Node:
    for _ in range(100):
        out = SYMBOLIC.rewrite(node)
        if out is None:
            return node
        node = out
    return node


def _as_node(x: Node | int) -> Node:
    return x if isinstance(x, Node) else const(x)


def add(a: Node | int, b: Node | int) -> Node:
    return _simplified(Node(Op.ADD, INDEX, (_as_node(a), _as_node(b))))


def mul(a: Node | int, b: Node | int) -> Node:
    return _simplified(Node(Op.MUL, INDEX, (_as_node(a), _as_node(b))))


def idiv(a: Node | int, b: int) -> Node:
    return _simplified(Node(Op.IDIV, INDEX, (_as_node(a), const(b))))


def mod(a: Node | int, b: int) -> Node:
    return _simplified(Node(Op.MOD, INDEX, (_as_node(a), const(b))))


def lt(a: Node | int, b: Node | int) -> Node:
    return _simplified(Node(Op.CMPLT, BOOL, (_as_node(a), _as_node(b))))


def ge(a: Node | int, b: Node | int) -> Node:
    """a >= b, written as b-1 < a for integers."""
    return lt(add(b, -1), a)


def and_(a: Node, b: Node) -> Node:
    return _simplified(Node(Op.AND, BOOL, (a, b)))


TRUE = const(True, BOOL)
