"""Default loop optimizations, chosen by heuristics (no search).

For reduce kernels shaped like a matmul (every reduce uses every output loop), the two innermost output
loops are tiled into registers: the contiguous one is vectorized with explicit SIMD vectors (on devices that
ask for it), the other unrolled. The tile shares its loads between accumulators, and reduces over the
same loop variable share one loop. The vectorized loop is moved outward so a strip of the right-hand
operand stays in cache while the other loop walks it.
"""
from __future__ import annotations

from dataclasses import dataclass

from baregrad import dtype as dt
from baregrad.codegen.lower import LoopReduceArg
from baregrad.ir import symbolic as sym
from baregrad.ir.node import Node
from baregrad.ir.ops import Op, ReduceOp


@dataclass(frozen=True)
class KernelOptions:
    """What a device wants from codegen."""
    vector_width: int = 0   # float32 lanes of explicit SIMD vectors (0: none)
    unroll: int = 4         # how far to unroll the second tiled loop
    vectors: int = 2        # SIMD vectors per row of the register tile


@dataclass
class OptimizedKernel:
    sink: Node
    global_vars: list[Node]


VECTOR_OPS = frozenset({Op.ADD, Op.SUB, Op.MUL, Op.NEG})


def optimize(sink: Node, global_vars: list[Node], opts: KernelOptions = KernelOptions()) -> OptimizedKernel:
    if opts.vector_width and len(global_vars) >= 2:
        tiled = _tile_matmul_like(sink, global_vars, opts)
        if tiled is None:
            tiled = _unroll_outer(sink, global_vars, opts)
        if tiled is not None:
            return tiled
    return OptimizedKernel(sink, global_vars)


def _unroll_outer(sink: Node, global_vars: list[Node], opts: KernelOptions) -> OptimizedKernel | None:
    """Where SIMD tiling does not apply (masked windows, decoded weights), still unroll the second-innermost
    output loop, so loads and decoding that do not depend on it are shared by `unroll` accumulators."""
    memo: dict = {}
    reduces = [n for n in sink.toposort() if n.op is Op.LOOP_REDUCE]
    all_vars = frozenset(global_vars)
    if not reduces or any(_free_vars(r, memo) != all_vars for r in reduces) or len(sink.src) != 1:
        return None
    u = global_vars[-2]
    unroll = next((k for k in (opts.unroll, 2) if u.arg[1] % k == 0 and u.arg[1] > k), 0)
    if not unroll:
        return None
    new_u = sym.var(u.arg[0], u.arg[1] // unroll)
    stores = tuple(substitute(sink.src[0], {u: sym.add(sym.mul(new_u, unroll), c)}) for c in range(unroll))
    return OptimizedKernel(Node(Op.SINK, dt.bool_, stores), global_vars[:-2] + [new_u, global_vars[-1]])


def _free_vars(node: Node, memo: dict[Node, frozenset[Node]]) -> frozenset[Node]:
    out = memo.get(node)
    if out is None:
        if node.op is Op.VAR:
            out = frozenset({node})
        else:
            out = frozenset().union(*(_free_vars(s, memo) for s in node.src)) if node.src else frozenset()
            if node.op is Op.LOOP_REDUCE:
                out = out - set(node.src[1:])
        memo[node] = out
    return out


def _unit_stride(index: Node, v: Node) -> bool:
    """True if index == v + (terms without v)."""
    terms, _ = sym._terms(index)
    return terms.get(v) == 1 and all(v not in t.toposort() for t in terms if t is not v)


def _vectorizable(store: Node, v: Node, memo: dict) -> bool:
    if store.dtype is not dt.float32 or not _unit_stride(store.src[1], v):
        return False
    stack, seen = [store.src[2]], set()
    while stack:
        node = stack.pop()
        if node in seen or v not in _free_vars(node, memo):
            continue
        seen.add(node)
        if node.dtype is not dt.float32:
            return False
        if node.op is Op.LOAD:
            if not _unit_stride(node.src[1], v) or v in _free_vars(node.src[2], memo):
                return False
        elif node.op is Op.LOOP_REDUCE:
            if node.arg.op is not ReduceOp.SUM:
                return False
            stack.append(node.src[0])
        elif node.op in VECTOR_OPS:
            stack.extend(node.src)
        else:
            return False
    return True


def _vectorize(node: Node, v: Node, lanes: int, memo: dict, out: dict[Node, Node]) -> Node:
    """Turn every value that varies with v into a vector of `lanes` consecutive v values."""
    done = out.get(node)
    if done is not None:
        return done
    if v not in _free_vars(node, memo) or node.op is Op.VAR:
        result = node
    elif node.op is Op.LOAD:
        result = Node(Op.LOAD, dt.vec(node.dtype, lanes), node.src)
    elif node.op is Op.STORE:
        result = Node(Op.STORE, dt.vec(node.dtype, lanes), (node.src[0], node.src[1],
                                                              _vectorize(node.src[2], v, lanes, memo, out)))
    else:
        src = (_vectorize(node.src[0], v, lanes, memo, out),) + node.src[1:] if node.op is Op.LOOP_REDUCE \
            else tuple(_vectorize(s, v, lanes, memo, out) for s in node.src)
        result = Node(node.op, dt.vec(node.dtype.scalar, lanes), src, node.arg)
    out[node] = result
    return result


def _tile_matmul_like(sink: Node, global_vars: list[Node], opts: KernelOptions) -> OptimizedKernel | None:
    memo: dict = {}
    reduces = [n for n in sink.toposort() if n.op is Op.LOOP_REDUCE]
    all_vars = frozenset(global_vars)
    if not reduces or any(_free_vars(r, memo) != all_vars for r in reduces) or len(sink.src) != 1:
        return None
    store = sink.src[0]
    u, v = global_vars[-2], global_vars[-1]
    lanes = opts.vector_width
    vectors = next((k for k in (opts.vectors, 2, 1) if v.arg[1] % (k * lanes) == 0), 0)
    if not vectors or not _vectorizable(store, v, memo):
        return None
    unroll = next((k for k in (opts.unroll, 2, 1) if u.arg[1] % k == 0), 1)
    vstore = _vectorize(store, v, lanes, memo, {})
    strip = lanes * vectors
    new_u, new_v = sym.var(u.arg[0], u.arg[1] // unroll), sym.var(v.arg[0], v.arg[1] // strip)
    stores = []
    for cu in range(unroll):
        for cv in range(vectors):
            mapping = {u: sym.add(sym.mul(new_u, unroll), cu), v: sym.add(sym.mul(new_v, strip), cv * lanes)}
            stores.append(substitute(vstore, mapping))
    order = global_vars[:-2] + [new_v, new_u]
    return OptimizedKernel(Node(Op.SINK, dt.bool_, tuple(stores)), order)


def substitute(root: Node, mapping: dict[Node, Node]) -> Node:
    """Replace nodes (usually loop variables) and rebuild everything above them, re-simplifying index math."""
    memo: dict[Node, Node] = dict(mapping)
    for node in root.toposort():
        if node in memo:
            continue
        src = tuple(memo[s] for s in node.src)
        if src == node.src:
            memo[node] = node
        elif node.dtype is sym.INDEX and node.op in _INDEX_BUILDERS:
            memo[node] = _INDEX_BUILDERS[node.op](*src)
        elif node.dtype is dt.bool_ and node.op in (Op.CMPLT, Op.AND) and src[0].dtype in (sym.INDEX, dt.bool_):
            memo[node] = sym.lt(*src) if node.op is Op.CMPLT else sym.and_(*src)
        else:
            memo[node] = Node(node.op, node.dtype, src, node.arg)
    return memo[root]


_INDEX_BUILDERS = {Op.ADD: sym.add, Op.MUL: sym.mul, Op.IDIV: lambda a, b: sym.idiv(a, b.arg) if sym.is_const(b)
                   else Node(Op.IDIV, sym.INDEX, (a, b)),
                   Op.MOD: lambda a, b: sym.mod(a, b.arg) if sym.is_const(b) else Node(Op.MOD, sym.INDEX, (a, b))}

__all__ = ["KernelOptions", "OptimizedKernel", "optimize", "substitute", "LoopReduceArg"]
