"""Default loop optimizations, chosen by heuristics (no search).

For reduce kernels shaped like a matmul (every reduce uses every output loop), the output is computed in
register tiles: `unroll` rows times a strip of `vectors` explicit SIMD vectors (on devices that ask for them)
along the innermost, contiguous output loop v. The rows are taken from the innermost other loop that no vector
load uses, so every vector loaded serves each row of the tile (matmul: rows of A; conv: output channels).
Vectorizing substitutes v = strip start + lane and checks that each value varying with `lane` is a contiguous
load or a sum, product or difference of such. Tile rows are grouped in blocks whose left-hand operand fits
`block_bytes`; the column strips walk one block (each strip of the right-hand operand staying in L2 while it
passes the block's rows) before the next block starts.

Elementwise kernels with one flat loop are split at their innermost block, so the inner loop is contiguous and
has no division (the C compiler vectorizes it).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    # left-hand operand bytes of one block of tile rows: it stays in the last-level cache while every column strip
    # passes (B is re-read once per block, so larger is better while the block stays cached; 2 MiB measured best
    # at 2048 on a 2-core AVX2 machine with 1 MiB L2 and 32 MiB L3)
    block_bytes: int = 2 * 1024 * 1024
    # the renderer has vector forms of comparisons, selects, max, division and math functions (C: GCC vector
    # extensions), so a tile's epilogue (bias, BatchNorm, ReLU6, GELU) does not stop it from being vectorized
    vector_epilogues: bool = False
    # the renderer has strided vector loads and stores (lanes `stride` elements apart): a tile vectorized along
    # output channels stores into NCHW and reads a residual from it that way
    strided_vectors: bool = False


@dataclass
class OptimizedKernel:
    sink: Node
    global_vars: list[Node]


VECTOR_OPS = frozenset({Op.ADD, Op.SUB, Op.MUL, Op.NEG})
# with KernelOptions.vector_epilogues: float ops with a vector form, and the mask ops feeding a select
EPILOGUE_FLOAT_OPS = frozenset({Op.FDIV, Op.RECIP, Op.MAX, Op.WHERE, Op.SQRT, Op.EXP, Op.EXP2, Op.LOG, Op.LOG2,
                                Op.SIN, Op.COS, Op.TANH, Op.ERF, Op.TRUNC})
EPILOGUE_MASK_OPS = frozenset({Op.CMPLT, Op.CMPEQ, Op.CMPNE, Op.AND, Op.OR, Op.NOT})


def optimize(sink: Node, global_vars: list[Node], opts: KernelOptions = KernelOptions()) -> OptimizedKernel:
    if opts.vector_width and len(global_vars) >= 2:
        tiled = _tile_matmul_like(sink, global_vars, opts)
        if tiled is None:
            tiled = _tile_merged_rows(sink, global_vars, opts)
        if tiled is None and opts.strided_vectors:
            tiled = _tile_channels(sink, global_vars, opts)
        for lanes in _narrower_vectors(opts):
            if tiled is None:
                tiled = _tile_matmul_like(sink, global_vars, replace(opts, vector_width=lanes))
        if tiled is None:
            tiled = _unroll_outer(sink, global_vars, opts)
        if tiled is not None:
            return tiled
    if opts.vector_width and len(global_vars) == 1:
        split = _split_flat_loop(sink, global_vars[0], opts)
        if split is not None:
            return split
    return OptimizedKernel(sink, global_vars)


def _narrower_vectors(opts: KernelOptions) -> list[int]:
    """Vector widths below the device's to fall back on (down to 4 lanes) where rows are not a whole number of
    full vectors but are of narrower ones (a depthwise conv's 56- or 28-pixel rows: 8 and 4 lanes)."""
    return [w for w in (opts.vector_width // 2, opts.vector_width // 4) if w >= 4]


def _tile_merged_rows(sink: Node, global_vars: list[Node], opts: KernelOptions) -> OptimizedKernel | None:
    """A conv's output rows are often shorter than a strip of SIMD vectors or not a multiple of one (28, 14, 7
    pixels): tile over the image's rows and columns as one loop (y * W + x), which the index algebra folds back to
    a contiguous index wherever the rows are contiguous in memory. Where they are not (a window's padded loads)
    vectorizing refuses, as before."""
    if len(global_vars) < 3:  # the tile needs a row loop besides the merged one
        return None
    y, x = global_vars[-2], global_vars[-1]
    width = x.arg[1]
    if width % opts.vector_width == 0 or (y.arg[1] * width) % opts.vector_width:
        return None
    pixel = sym.var(x.arg[0], y.arg[1] * width)
    merged = substitute(sink, {y: sym.idiv(pixel, width), x: sym.mod(pixel, width)})
    return _tile_matmul_like(merged, global_vars[:-2] + [pixel], opts)


def _split_flat_loop(sink: Node, flat: Node, opts: KernelOptions) -> OptimizedKernel | None:
    """An elementwise kernel walks its output with one flat loop and reads operands laid out otherwise (a
    permuted or padded view) through `flat // c` and `flat % c`. Splitting off the innermost such block, c,
    leaves an inner loop with no division whose loads are contiguous, which the C compiler vectorizes (packing
    a 2048x2048 matmul operand: 50 -> 24 ms)."""
    if any(n.op is Op.LOOP_REDUCE for n in sink.toposort()):
        return None
    divisors = [int(n.src[1].arg) for n in sink.toposort()
                if n.op in (Op.IDIV, Op.MOD) and n.src[0] is flat and sym.is_const(n.src[1])]
    c = min(divisors, default=0)
    size = flat.arg[1]
    if c < opts.vector_width or size % c or c == size:
        return None
    outer, inner = sym.var(flat.arg[0], size // c), sym.var(flat.arg[0] + "i", c)
    stores = tuple(substitute(st, {flat: sym.add(sym.mul(outer, c), inner)}) for st in sink.src)
    return OptimizedKernel(Node(Op.SINK, dt.bool_, stores), [outer, inner])


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
    """The loop variables node depends on (a reduce's own variables excluded), memoized; no recursion."""
    out = memo.get(node)
    if out is not None:
        return out
    for n in _postorder(node, skip=memo.__contains__):  # the walk stops at what is known
        if n.op is Op.VAR:
            memo[n] = frozenset({n})
        elif not n.src:
            memo[n] = frozenset()
        else:
            acc = frozenset().union(*(memo[s] for s in n.src))
            memo[n] = acc - set(n.src[1:]) if n.op is Op.LOOP_REDUCE else acc
    return memo[node]


def _postorder(root: Node, enter: Callable[[Node], bool] = lambda n: True,
               skip: Callable[[Node], bool] = lambda n: False) -> list[Node]:
    """Nodes below root (root included), sources before users, without recursion: a node `skip` accepts is left
    out with everything only it leads to; one `enter` refuses is listed but not walked below."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen and not skip(node):
            seen.add(node)
            stack.append((node, True))
            if enter(node):
                stack.extend((s, False) for s in node.src)
    return order


def _unit_stride(index: Node, v: Node) -> bool:
    """True if index == v + (terms without v)."""
    return _stride(index, v) == 1


def _stride(index: Node, v: Node) -> int | None:
    """c if index == c * v + (terms without v), else None."""
    terms, _ = sym.linear_terms(index)
    coeff = terms.get(v)
    if coeff is None or any(v in t.toposort() for t in terms if t is not v):
        return None
    return coeff


@dataclass(frozen=True)
class TilePlan:
    """How the output loops are tiled: `unroll` rows of u times `vectors` SIMD vectors of v per tile, and the
    row tiles grouped in blocks of `block` (the left-hand operand of a block stays in cache while the column
    strips walk it)."""
    u: Node
    v: Node
    unroll: int
    vectors: int
    block: int

    @property
    def tiles(self) -> int:
        return self.u.arg[1] // self.unroll

    @property
    def blocked(self) -> bool:
        return self.block < self.tiles


def _tile_matmul_like(sink: Node, global_vars: list[Node], opts: KernelOptions) -> OptimizedKernel | None:
    memo: dict = {}
    reduces = [n for n in sink.toposort() if n.op is Op.LOOP_REDUCE]
    all_vars = frozenset(global_vars)
    if not reduces or any(_free_vars(r, memo) != all_vars for r in reduces) or len(sink.src) != 1:
        return None
    store, v = sink.src[0], global_vars[-1]
    lanes = opts.vector_width
    vectors = next((k for k in (opts.vectors, 2, 1) if v.arg[1] % (k * lanes) == 0), 0)
    if not vectors or store.dtype is not dt.float32:
        return None
    plan = _plan_tile(store, global_vars, reduces, vectors, opts, memo)
    new_v = sym.var(v.arg[0], v.arg[1] // (lanes * vectors))
    outer = sym.var(plan.u.arg[0] + "o", plan.tiles // plan.block)
    inner = sym.var(plan.u.arg[0], plan.block)
    row = sym.mul(sym.add(sym.mul(outer, plan.block), inner) if plan.blocked else inner, plan.unroll)
    stores = _tile_stores(store, plan, row, new_v, opts, PIXEL_STRIDE if opts.strided_vectors else 1)
    if stores is None:
        return None
    others = [g for g in global_vars if g is not plan.u and g is not v]
    order = others + ([outer] if plan.blocked else []) + [new_v, inner]
    return OptimizedKernel(Node(Op.SINK, dt.bool_, stores), order)


def _tile_stores(store: Node, plan: TilePlan, row: Node, new_v: Node, opts: KernelOptions,
                 max_stride: int = 1) -> tuple[Node, ...] | None:
    """The tile's `unroll` x `vectors` vectorized copies of store (row: the first tile row's u), or None; accesses
    whose lanes are up to max_stride elements apart are strided vectors."""
    lanes = opts.vector_width
    strip = lanes * plan.vectors
    lane = sym.var("lane", lanes)  # the position inside one SIMD vector; vectorizing removes it again
    stores = []
    for cu in range(plan.unroll):
        for cv in range(plan.vectors):
            mapping = {plan.u: sym.add(row, cu), plan.v: sym.add(sym.add(sym.mul(new_v, strip), cv * lanes), lane)}
            vstore = _vectorize(substitute(store, mapping), lane, lanes, opts.vector_epilogues, max_stride)
            if vstore is None:
                return None
            stores.append(vstore)
    return tuple(stores)


# strided vector accesses: a tile along a conv's output channels stores to NCHW (and reads a residual from it) at
# any stride, once per output; a pixel tile's window loads may be stride 2 (a strided conv's row: two vector loads
# and a shuffle), not wider (a gather per tap costs more than the scalar loop)
ANY_STRIDE = 1 << 30
PIXEL_STRIDE = 2

# pixels per tile along a conv's output row when the tile's vectors run along output channels: 8 rows x 2 vectors
# are 16 accumulators, half of AVX-512's 32 registers, leaving room for the weight vectors and broadcasts
MAX_CHANNEL_TILE_ROWS = 8


def _tile_channels(sink: Node, global_vars: list[Node], opts: KernelOptions) -> OptimizedKernel | None:
    """A conv whose output rows are not a whole number of SIMD vectors (7, 14, 28 or 56 pixels, or a padded window
    that is not contiguous across rows) is tiled along its output channels instead, where the reduce's operands
    are contiguous along them (nn's conv keeps its weights channels-last for that, see tensor_ops/weight_layout.py):
    a tile is up to 8 pixels of a row times a strip of channel vectors, each input value is one scalar broadcast
    to every lane, and the results go to the NCHW output with strided stores. The strip loop is outermost, so a
    strip's weights stay cached while it walks every pixel."""
    memo: dict = {}
    reduces = [n for n in sink.toposort() if n.op is Op.LOOP_REDUCE]
    all_vars = frozenset(global_vars)
    if not reduces or any(_free_vars(r, memo) != all_vars for r in reduces) or len(sink.src) != 1:
        return None
    store, lanes = sink.src[0], opts.vector_width
    body_loads = {n for r in reduces for n in r.src[0].toposort() if n.op is Op.LOAD}
    c = _channel_var(global_vars, body_loads, lanes, memo)
    if c is None or store.dtype is not dt.float32:
        return None
    vector_loads = [ld for ld in body_loads if c in _free_vars(ld, memo)]
    u = next((g for g in reversed(global_vars) if g is not c and g.arg[1] > 1
              and not any(g in _free_vars(ld, memo) for ld in vector_loads)), None)
    if u is None:
        return None
    unroll = max(d for d in range(1, MAX_CHANNEL_TILE_ROWS + 1) if u.arg[1] % d == 0)
    vectors = 2 if c.arg[1] % (2 * lanes) == 0 else 1
    plan = TilePlan(u, c, unroll, vectors, u.arg[1] // unroll)
    new_v, inner = sym.var(c.arg[0], c.arg[1] // (lanes * vectors)), sym.var(u.arg[0], plan.tiles)
    stores = _tile_stores(store, plan, sym.mul(inner, unroll), new_v, opts, max_stride=ANY_STRIDE)
    if stores is None:
        return None
    others = [g for g in global_vars if g is not u and g is not c]
    return OptimizedKernel(Node(Op.SINK, dt.bool_, stores), [new_v] + others + [inner])


def _channel_var(global_vars: list[Node], body_loads: set[Node], lanes: int, memo: dict) -> Node | None:
    """The innermost output loop (not the last) that whole SIMD vectors cover and along which every load of the
    reduce that varies with it is contiguous, if any."""
    for c in reversed(global_vars[:-1]):
        users = [ld for ld in body_loads if c in _free_vars(ld, memo)]
        if c.arg[1] % lanes == 0 and users and all(_unit_stride(ld.src[1], c) for ld in users):
            return c
    return None


def _plan_tile(store: Node, global_vars: list[Node], reduces: list[Node], vectors: int, opts: KernelOptions,
               memo: dict) -> TilePlan:
    v = global_vars[-1]
    u = _shared_row_var(store, global_vars, memo)
    unroll = next(k for k in (opts.unroll * opts.vectors // vectors, opts.unroll, 2, 1) if u.arg[1] % k == 0)
    tiles = u.arg[1] // unroll
    reduce_len = max(math.prod(r.arg[1] for r in red.src[1:]) for red in reduces)
    fits = opts.block_bytes // (4 * reduce_len * unroll)  # row tiles whose left operand fits the budget
    block = max((d for d in range(2, min(fits, tiles) + 1) if tiles % d == 0), default=tiles)
    return TilePlan(u, v, unroll, vectors, block)


def _shared_row_var(store: Node, global_vars: list[Node], memo: dict) -> Node:
    """The output loop to unroll into tile rows: the innermost one that no load varying along the vectorized
    loop uses, so each SIMD vector loaded serves every row (matmul: the rows of A; conv: output channels)."""
    v = global_vars[-1]
    vector_loads = [n for n in store.toposort() if n.op is Op.LOAD and v in _free_vars(n, memo)]
    for u in reversed(global_vars[:-1]):
        if u.arg[1] > 1 and not any(u in _free_vars(ld, memo) for ld in vector_loads):
            return u
    return global_vars[-2]


def _vectorize(store: Node, lane: Node, lanes: int, epilogues: bool = False, max_stride: int = 1) -> Node | None:
    """store with every value that varies with `lane` turned into a vector of `lanes` consecutive lane values
    (and lane set to 0 in the indices), or None where that is not possible: a load that is masked or not
    contiguous in lane, a reduce other than sum, an op without a vector form, a dtype other than float32 (or, with
    `epilogues`, a bool mask of float32 comparisons). An unmasked load or store whose lanes are a constant stride
    of up to max_stride apart is a strided vector access: its node's arg is the stride (contiguous ones: None)."""
    memo: dict = {}
    float_ops = VECTOR_OPS | EPILOGUE_FLOAT_OPS if epilogues else VECTOR_OPS
    mask_ops = EPILOGUE_MASK_OPS if epilogues else frozenset()
    done: dict[Node, Node | None] = {}
    first = {lane: sym.const(0)}

    def visit(node: Node) -> Node | None:
        out: Node | None
        if lane not in _free_vars(node, memo):
            out = node
        elif node.dtype is dt.bool_ and node.op in mask_ops:
            src = [done[s] for s in node.src]
            ok = all(s is not None and (s.dtype.scalar in (dt.float32, dt.bool_)) for s in src)
            out = Node(node.op, dt.vec(dt.bool_, lanes), tuple(src), node.arg) if ok else None
        elif node.dtype.scalar is not dt.float32:
            out = None
        elif node.op is Op.LOAD:
            ok, step = _vector_access(node.src[1], lane, max_stride if sym.is_const(node.src[2], True) else 1)
            ok = ok and lane not in _free_vars(node.src[2], memo)
            out = Node(Op.LOAD, dt.vec(node.dtype, lanes), (node.src[0], substitute(node.src[1], first),
                                                            node.src[2]), step) if ok else None
        elif node.op is Op.STORE:
            value = done[node.src[2]]
            ok, step = _vector_access(node.src[1], lane, max_stride)
            ok = ok and value is not None and value.dtype.lanes == lanes
            out = Node(Op.STORE, dt.vec(node.dtype, lanes), (node.src[0], substitute(node.src[1], first),
                                                             value), step) if ok else None
        elif node.op is Op.LOOP_REDUCE:
            body = done[node.src[0]] if node.arg.op is ReduceOp.SUM else None
            out = None if body is None else Node(node.op, dt.vec(node.dtype, lanes), (body, *node.src[1:]),
                                                 node.arg)
        elif node.op in float_ops:
            src = [done[s] for s in node.src]
            out = None if any(s is None for s in src) else Node(node.op, dt.vec(node.dtype, lanes), tuple(src),
                                                                 node.arg)
        else:
            out = None
        return out

    # sources before users, without recursion; nodes that do not vary with lane stay as they are (not walked)
    for node in _postorder(store, enter=lambda n: lane in _free_vars(n, memo) and n.op is not Op.LOAD):
        done[node] = visit(node)
    return done[store]


def _vector_access(index: Node, lane: Node, max_stride: int) -> tuple[bool, int | None]:
    """Whether the lanes of an access at index can be one vector access, and its node's arg: None for contiguous
    lanes (a plain vector load or store), else the stride between lanes (up to max_stride)."""
    step = _stride(index, lane)
    if step == 1:
        return True, None
    return (True, step) if step is not None and 1 < step <= max_stride else (False, None)


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
