"""GPU kernel shaping: the decisions that turn one linear program into a launch plan (ir/launch.py), by heuristics.

Strategies, tried in order:
- MATMUL: a reduce-of-multiply of two loads is a matmul (`match`). On CUDA, fp16/bf16 (and tf32 when allowed) go
  to tensor cores, 128x128 per block, pipelined with cp.async where both operands move in 16-byte chunks; every
  other matmul, CUDA's fp32 included, takes the register tile all GPU languages share (`portable_tile`), staged
  through local (shared) memory where local memory is on-chip, with 4-wide copies where an operand allows.
- VECTOR: elementwise kernels whose loads and store index the flat output index directly move 4 elements
  per thread with one 16/8/4-byte load or store per buffer (aligned: buffers start 256-byte aligned).
- BLOCK: one thread block per iteration of the global loops that enclose the reduces; its threads split
  each reduce and split any global loop after it, so a softmax row is read by a whole block once instead of
  once per output element.
- FLAT: every global loop mapped onto one flat thread id.
The portable devices' limits (work-group size, local memory, lavapipe's loop limit) come in a GPUTarget queried
from the device; a shape that does not fit falls back to FLAT. What a language can do (vector loads, local-memory
element sizes, a fixed FLAT work-group) comes from its writer (render/gpu/lang.py) as a `LanguageFacts`: this
module decides, render/gpu/ writes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from baregrad import config
from baregrad import dtype as dt
from baregrad.codegen.tensor_cores import tensor_core_for
from baregrad.ir.launch import (
    CUDA_MATMUL_THREADS,
    CUDA_MATMUL_TILE,
    TC_CHUNK,
    BlockShape,
    GPUPlan,
    Launch,
    MatmulMatch,
    MatmulShape,
    MatmulTile,
    Operand,
    Strategy,
    TcConfig,
    TileCopy,
    VectorShape,
)
from baregrad.ir.linear import (
    L,
    LinearProgram,
    LoopKind,
    LoopNode,
    global_size,
    loop_kind,
    loop_size,
    loop_tree,
    loops_in,
    nested_chain,
    walk_loops,
)
from baregrad.ir.ops import Op, ReduceOp

FLAT_THREADS = 256
VECTOR_LANES = 4
VECTOR_UNROLL = 4   # 4-element chunks per thread in CUDA VECTOR kernels: more bytes in flight per thread
STATIC_SMEM_LIMIT = 48 * 1024
MIN_OUTPUTS, MIN_K = 1024, 16
MAX_GRID_YZ = 65535
_VEC_BYTES = (4, 2, 1)  # element sizes a 4-wide load can move (as uint4, uint2, unsigned int)


@dataclass(frozen=True)
class GPUTarget:
    """What kernel shaping needs to know about the GPU."""
    arch: int = 90            # sm_XX as an integer
    sms: int = 132            # streaming multiprocessors
    allow_tf32: bool = False  # fp32 matmuls may round inputs to tf32 on tensor cores
    # limits of the portable devices (OpenCL, WebGPU), queried from the device
    max_threads: int = 1024           # work-items per work-group
    local_bytes: int = 48 * 1024      # local (shared / workgroup) memory per work-group
    local_is_fast: bool = True        # local memory is on-chip (False: emulated in cached global memory, e.g. CPUs)
    loop_limit: int = 0               # loop iterations one thread may run in total (0: none; lavapipe stops at 65535)


class LanguageFacts(Protocol):
    """What a portable kernel language can do, as far as shaping needs to know (render/gpu/lang.py provides it)."""
    vector_width: int            # elements one vector load moves (0: no vector loads from buffers)
    flat_threads: int            # work-items per group of its FLAT kernels (0: shaping chooses)

    def local_bytes(self, d: dt.DType) -> int:
        """Bytes of local memory holding one compute value of dtype d."""
        ...


def vector_unroll() -> int:
    """VECTOR_UNROLL, or BAREGRAD_GPU_UNROLL (benchmarking knob)."""
    return config.gpu_unroll(VECTOR_UNROLL)


def tc_config_from_env() -> TcConfig:
    """The pipelined tensor-core tile, or BAREGRAD_TC_TILE="bm,bn,bk,warps_m,warps_n,stages" (benchmarking knob)."""
    text = config.tc_tile()
    if not text:
        return TcConfig()
    bm, bn, bk, wm, wn, st = (int(x) for x in text.split(","))
    return TcConfig(bm, bn, bk, wm, wn, st)


# ---- entry point ----
def plan(prog: LinearProgram, target: GPUTarget, lang: LanguageFacts | None = None) -> GPUPlan:
    """How to shape and launch `prog`: for CUDA when `lang` is None, else for that portable language."""
    mm = match(prog)
    if mm is not None:
        found = cuda_matmul_plan(prog, mm, target) if lang is None else portable_matmul_plan(prog, mm, target)
        if found is not None:
            return found
    tree = loop_tree(prog)
    if not any(loop_kind(prog, x) is LoopKind.REDUCE for x in walk_loops(tree)):
        vec = vector_candidate(prog, tree)
        if vec is not None:
            return vector_plan(prog, vec, target, lang)
        return flat_plan(prog, target, lang)
    block = block_plan(prog, tree, target, lang)
    return block if block is not None else flat_plan(prog, target, lang)


def _pow2_floor(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def _one_launch(strategy: Strategy, prog: LinearProgram, grid: int, threads: int, **shape) -> GPUPlan:
    return GPUPlan(strategy, (Launch(prog.name, (grid, 1, 1), (threads, 1, 1)),), **shape)


# ---- FLAT ----
def flat_threads(prog: LinearProgram, target: GPUTarget, lang: LanguageFacts | None = None) -> int:
    """Threads per block of a FLAT kernel, within the device's work-group limit."""
    total = max(1, global_size(prog))
    if lang is None:
        return min(FLAT_THREADS, max(32, 1 << (total - 1).bit_length()))
    if lang.flat_threads:
        return lang.flat_threads
    if not any(ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL for ins in prog.instrs):
        return 1  # no global loop: the kernel has no bounds check, so exactly one work-item may run it
    return min(FLAT_THREADS, _pow2_floor(target.max_threads), max(32, 1 << (total - 1).bit_length()))


def flat_plan(prog: LinearProgram, target: GPUTarget, lang: LanguageFacts | None = None) -> GPUPlan:
    threads = flat_threads(prog, target, lang)
    return _one_launch(Strategy.FLAT, prog, -(-max(1, global_size(prog)) // threads), threads)


# ---- VECTOR ----
def vector_candidate(prog: LinearProgram, tree: list) -> VectorShape | None:
    """The 4-wide shape of a program that is one elementwise loop (None when it is not, or indexes allow no vector);
    its thread count is filled in by vector_plan."""
    loops = loops_in(tree)
    if len(loops) != 1 or loops_in(loops[0].body) or loop_size(prog, loops[0]) % VECTOR_LANES:
        return None
    loop = loops[0]
    loads, store = set(), None
    for i in loop.body:
        ins = prog.instrs[i]
        if ins.op not in (L.LOAD, L.STORE) or ins.src[1] != loop.start or ins.dtype.itemsize not in _VEC_BYTES:
            continue
        if ins.op is L.STORE:
            store = i
        elif len(ins.src) < 3 or _is_true(prog, ins.src[2]):
            loads.add(i)
    if not loads and store is None:
        return None
    return VectorShape(tree, loop, frozenset(loads), store, 0)


def _is_true(prog: LinearProgram, i: int) -> bool:
    ins = prog.instrs[i]
    return ins.op is L.CONST and ins.arg is True


def vector_plan(prog: LinearProgram, vec: VectorShape, target: GPUTarget, lang: LanguageFacts | None) -> GPUPlan:
    n = loop_size(prog, vec.loop) // VECTOR_LANES
    if lang is None:
        threads, unroll = FLAT_THREADS, vector_unroll()
        shape = VectorShape(vec.tree, vec.loop, vec.loads, vec.store, threads, unroll)
    else:
        threads, unroll = min(FLAT_THREADS, _pow2_floor(target.max_threads)), 1

        def vector_ok(i: int) -> bool:
            return lang.vector_width == VECTOR_LANES and prog.instrs[i].dtype is not dt.float64
        store = vec.store if vec.store is not None and vector_ok(vec.store) else None
        shape = VectorShape(vec.tree, vec.loop, frozenset(i for i in vec.loads if vector_ok(i)), store, threads)
    return _one_launch(Strategy.VECTOR, prog, -(-n // (threads * unroll)), threads, vector=shape)


# ---- BLOCK ----
def outer_globals(prog: LinearProgram, tree: list) -> list[LoopNode]:
    """The global loops enclosing the first reduce that sits directly inside global loops."""
    stack: list[tuple[list, list[LoopNode]]] = [(tree, [])]
    while stack:  # depth first, in program order
        items, chain = stack.pop()
        for x in reversed(loops_in(items)):
            if loop_kind(prog, x) is LoopKind.REDUCE:
                stack.append(([], chain + [None]))  # marker: a reduce directly inside `chain`
            else:
                stack.append((x.body, chain + [x]))
        if chain and chain[-1] is None:
            return chain[:-1]
    return []


def block_loops(prog: LinearProgram, tree: list, outer_starts: set[int]) -> list[LoopNode]:
    """The loops directly inside the outer global loops: the block's threads share them."""
    out, stack = [], list(reversed(loops_in(tree)))
    while stack:
        x = stack.pop()
        if x.start in outer_starts:
            stack.extend(reversed(loops_in(x.body)))
        else:
            out.append(x)
    return out


def thread_iterations(prog: LinearProgram, items: list, shared: dict[int, int], threads: int) -> int:
    """Loop iterations one thread runs; loops in `shared` (start -> flattened size) are split across `threads`."""
    total = 0
    for x in loops_in(items):
        if x.start in shared:
            body = nested_chain(prog, x)[2]
            n = -(-shared[x.start] // threads)
        else:
            body, n = x.body, loop_size(prog, x)
        total += n * (1 + thread_iterations(prog, body, shared, threads))
    return total


def block_plan(prog: LinearProgram, tree: list, target: GPUTarget, lang: LanguageFacts | None) -> GPUPlan | None:
    """A block per outer iteration, when worthwhile (and, on the portable devices, when it fits)."""
    outer = outer_globals(prog, tree)
    blocks = math.prod(loop_size(prog, x) for x in outer)
    shared_loops = block_loops(prog, tree, {x.start for x in outer})
    extents = {x.start: math.prod(loop_size(prog, y) for y in nested_chain(prog, x)[0]) for x in shared_loops}
    max_extent = max(extents.values(), default=1)
    threads = min(256, max(32, 1 << (max_extent - 1).bit_length()))
    inner_global = any(loop_kind(prog, x) is LoopKind.GLOBAL for x in shared_loops)
    worthwhile = inner_global or max_extent >= 64 or blocks < 2048
    if lang is not None:
        threads = min(threads, _pow2_floor(target.max_threads))
        acc_dtypes = {ins.dtype for ins in prog.instrs if ins.op is L.ACC}
        scratch = sum(lang.local_bytes(d) for d in acc_dtypes) * threads
        within_limit = not target.loop_limit or thread_iterations(prog, tree, extents, threads) <= target.loop_limit
        if not (threads >= 2 and scratch <= target.local_bytes and within_limit):
            return None
        past_limit = target.loop_limit and thread_iterations(prog, tree, {}, 1) > target.loop_limit
        worthwhile = worthwhile or bool(past_limit)
    if not worthwhile:
        return None
    return _one_launch(Strategy.BLOCK, prog, blocks, threads, block=BlockShape(tree, tuple(outer), threads, blocks))


# ---- MATMUL ----
def cuda_matmul_plan(prog: LinearProgram, mm: MatmulMatch, target: GPUTarget) -> GPUPlan | None:
    """Tensor cores where the dtype and arch have them (a 128x128 tile per block, pipelined where operands allow);
    otherwise (fp32 without tf32, or 16-bit inputs before sm_80) the register tile every GPU language shares, in
    shared memory (on-chip on every CUDA GPU). None: no matmul shape fits."""
    tc = tensor_core_for(mm.dtype, target.arch, target.allow_tf32)
    if tc is None:
        return portable_matmul_plan(prog, mm, target)
    M, N, K, B = mm.sizes
    if tc is not None and tc.k == 16:
        cfg = tc_config_from_env()
        if _pipeline_ok(mm.a, M, K) and _pipeline_ok(mm.b, N, K):
            smem = cfg.smem_bytes(mm.a.s_k == 1, mm.b.s_k == 1)
            dynamic = smem if smem > STATIC_SMEM_LIMIT else 0
            launch = Launch(prog.name, (-(-N // cfg.bn), -(-M // cfg.bm), B), (cfg.threads, 1, 1), dynamic)
            return GPUPlan(Strategy.MATMUL, (launch,), matmul=MatmulShape(mm, tc, pipeline=cfg))
    tile = CUDA_MATMUL_TILE
    launch = Launch(prog.name, (-(-N // tile), -(-M // tile), B), (CUDA_MATMUL_THREADS, 1, 1))
    return GPUPlan(Strategy.MATMUL, (launch,), matmul=MatmulShape(mm, tc))


def _pipeline_ok(op: Operand, mn_size: int, k_size: int) -> bool:
    """Whether an operand can be moved in aligned 16-byte cp.async chunks along its contiguous dimension."""
    if op.s_k != 1 and op.s_mn != 1:
        return False
    k_contiguous = op.s_k == 1
    other = op.s_mn if k_contiguous else op.s_k
    contiguous_size = k_size if k_contiguous else mn_size
    return (other % TC_CHUNK == 0 and op.offset % TC_CHUNK == 0 and op.s_b % TC_CHUNK == 0
            and contiguous_size % TC_CHUNK == 0)


def portable_tile(mm: MatmulMatch, target: GPUTarget, use_local: bool = True) -> MatmulTile:
    """Few work-items with big register tiles on CPUs (per-item overhead dominates). On GPUs 16 x 16 items, each
    8 x 8 outputs (a 128 x 128 block: the SIMT kernel CUDA had, which ran at 0.63x cuBLAS on an H200), in 2 x 2
    groups of 4 x 4 read as float4s from local memory; 8 k-steps per local tile, rows padded by 4 floats so the
    transposing copies hit distinct banks. Columns go 4-wide wherever they are read from local memory (its
    layout is ours), else only where B allows float4 loads."""
    if not target.local_is_fast:
        return MatmulTile(8, 8, 8, 16, 4 if _vector_b(mm) else 1)
    return MatmulTile(16, 16, 8, 8, 4 if use_local or _vector_b(mm) else 1, bk=8, vec_m=4, pad=4)


def tile_copy(op: Operand, mn_size: int, k_size: int, d: dt.DType, tile: MatmulTile, rows: int) -> TileCopy:
    """How an operand's tile goes to local memory: 4 float32 at once along its contiguous dimension where every
    vector start is 4-aligned (buffers start 256-byte aligned), else one element at a time, neighbouring
    work-items along the contiguous dimension (coalesced reads)."""
    aligned = d is dt.float32 and op.offset % 4 == 0 and op.s_b % 4 == 0
    if op.s_k == 1:
        wide = aligned and k_size % 4 == 0 and op.s_mn % 4 == 0 and tile.bk % 4 == 0
        return TileCopy.K4 if wide else TileCopy.K1
    if op.s_mn == 1 and aligned and mn_size % 4 == 0 and op.s_k % 4 == 0 and rows % 4 == 0:
        return TileCopy.MN4
    return TileCopy.MN1


def _vector_b(mm: MatmulMatch) -> bool:
    """B rows load as float4: float32, contiguous along n, every vector start 4-aligned."""
    b, n = mm.b, mm.sizes[1]
    return (mm.dtype is dt.float32 and b.s_mn == 1 and n % 4 == 0 and b.s_k % 4 == 0 and b.s_b % 4 == 0
            and b.offset % 4 == 0)


def portable_matmul_plan(prog: LinearProgram, mm: MatmulMatch, target: GPUTarget) -> GPUPlan | None:
    """The register-tiled kernel's plan, or None where it does not fit the device (then another shape runs)."""
    M, N, K, B = mm.sizes
    use_local = target.local_is_fast and portable_tile(mm, target).local_floats * 4 <= target.local_bytes
    tile = portable_tile(mm, target, use_local)
    loop_iterations = K // tile.bk * (tile.bk + 4) if use_local else K
    if tile.threads > target.max_threads or (target.loop_limit and loop_iterations > target.loop_limit):
        return None
    gn, gm = -(-N // tile.bn), -(-M // tile.bm)
    a_copy = tile_copy(mm.a, M, K, mm.dtype, tile, tile.bm)
    b_copy = tile_copy(mm.b, N, K, mm.dtype, tile, tile.bn)
    return _one_launch(Strategy.MATMUL, prog, gn * gm * B, tile.threads,
                       matmul=MatmulShape(mm, tile=tile, use_local=use_local, a_copy=a_copy, b_copy=b_copy))


# ---- matching ----
def _affine(prog: LinearProgram, i: int, memo: dict) -> dict | None:
    """The index instruction i as {range instruction (or None for the constant): coefficient}, or None."""
    if i in memo:
        return memo[i]
    ins = prog.instrs[i]
    out = None
    if ins.op is L.RANGE:
        out = {i: 1}
    elif ins.op is L.CONST and isinstance(ins.arg, int) and not isinstance(ins.arg, bool):
        out = {None: ins.arg}
    elif ins.op is L.ALU and ins.arg in (Op.ADD, Op.MUL):
        x, y = (_affine(prog, s, memo) for s in ins.src)
        if x is not None and y is not None:
            out = _combine(ins.arg, x, y)
    memo[i] = out
    return out


def _combine(op: Op, x: dict, y: dict) -> dict | None:
    if op is Op.ADD:
        out = dict(x)
        for k, v in y.items():
            out[k] = out.get(k, 0) + v
        return out
    for const, other in ((x, y), (y, x)):
        if set(const) <= {None}:
            scale = const.get(None, 0)
            return {k: v * scale for k, v in other.items()}
    return None


def _chain(prog: LinearProgram) -> tuple[list[LoopNode], LoopNode] | None:
    items, globals_ = loop_tree(prog), []
    while True:
        loops = loops_in(items)
        if len(loops) != 1:
            return None
        x = loops[0]
        if prog.instrs[x.start].arg.kind is LoopKind.REDUCE:
            return (globals_, x) if not loops_in(x.body) else None
        globals_.append(x)
        items = x.body


def match(prog: LinearProgram) -> MatmulMatch | None:
    """The matmul this program computes, if it is one the template handles."""
    found = _chain(prog)
    if found is None or len(found[0]) not in (2, 3):
        return None
    globals_, k = found
    updates = [i for i in k.body if prog.instrs[i].op is L.UPDATE]
    if len(updates) != 1 or prog.instrs[updates[0]].arg is not ReduceOp.SUM:
        return None
    acc, value = prog.instrs[updates[0]].src
    mul = prog.instrs[value]
    d = prog.instrs[acc].dtype
    if d not in (dt.float16, dt.bfloat16, dt.float32) or mul.op is not L.ALU or mul.arg is not Op.MUL:
        return None
    operands = list(mul.src)
    d, operands = _widened_operands(prog, d, operands)
    loads = [prog.instrs[s] for s in operands]
    if any(x.op is not L.LOAD or x.dtype is not d or (len(x.src) > 2 and not _true(prog, x.src[2])) for x in loads):
        return None
    memo: dict = {}
    forms = [_affine(prog, x.src[1], memo) for x in loads]
    if any(f is None for f in forms):
        return None
    return _assign_roles(prog, globals_, k, acc, d, operands, forms)


def _widened_operands(prog: LinearProgram, acc_dtype: dt.DType, operands: list[int]) -> tuple[dt.DType, list[int]]:
    """A 16-bit matmul accumulates in float32 (as torch's): its products read float32 casts of 16-bit loads. The
    template takes the 16-bit loads themselves (tensor cores multiply them exactly and accumulate in float32)."""
    casts = [prog.instrs[s] for s in operands]
    if acc_dtype is not dt.float32 or any(c.op is not L.CAST for c in casts):
        return acc_dtype, operands
    inner = [c.src[0] for c in casts]
    kinds = {prog.instrs[i].dtype for i in inner}
    if len(kinds) != 1 or next(iter(kinds)) not in (dt.float16, dt.bfloat16):
        return acc_dtype, operands
    return next(iter(kinds)), inner


def _true(prog: LinearProgram, i: int) -> bool:
    return prog.instrs[i].op is L.CONST and prog.instrs[i].arg is True


def _assign_roles(prog, globals_, k, acc, d, loads, forms) -> MatmulMatch | None:
    allowed = {g.start for g in globals_} | {k.start, None}
    if any(set(f) - allowed or not f.get(k.start) for f in forms):
        return None
    # batch dims come first in the lowering (..., m, n, k); it may be broadcast in either operand
    batch = globals_[0] if len(globals_) == 3 else None
    own = [{g for g in globals_ if g is not batch and f.get(g.start) and not other.get(g.start)}
           for f, other in ((forms[0], forms[1]), (forms[1], forms[0]))]
    if any(len(o) != 1 for o in own):
        return None
    m, n = next(iter(own[0])), next(iter(own[1]))
    ops = [_operand(prog, loads[i], forms[i], g, k, batch) for i, g in ((0, m), (1, n))]
    if _store_stride(prog, m) < _store_stride(prog, n):
        m, n, ops = n, m, ops[::-1]
    size = {g.start: prog.instrs[g.start].arg.size for g in (*globals_, k)}
    sizes = (size[m.start], size[n.start], size[k.start], size[batch.start] if batch else 1)
    too_small = sizes[0] * sizes[1] < MIN_OUTPUTS or sizes[2] < MIN_K
    if too_small or sizes[3] > MAX_GRID_YZ or sizes[0] > CUDA_MATMUL_TILE * MAX_GRID_YZ:
        return None
    return MatmulMatch(m, n, batch, k, tuple(globals_), acc, ops[0], ops[1], d, sizes)


def _operand(prog, load: int, form: dict, own: LoopNode, k: LoopNode, batch: LoopNode | None) -> Operand:
    return Operand(load, prog.instrs[load].src[0], form.get(own.start, 0), form[k.start],
                   form.get(batch.start, 0) if batch else 0, form.get(None, 0))


def _store_stride(prog: LinearProgram, g: LoopNode) -> int:
    memo: dict = {}
    for i in range(len(prog.instrs)):
        if prog.instrs[i].op is L.STORE:
            form = _affine(prog, prog.instrs[i].src[1], memo)
            return abs(form.get(g.start, 0)) if form else 0
    return 0


__all__ = ["GPUTarget", "LanguageFacts", "plan", "match", "flat_threads", "thread_iterations", "vector_candidate",
           "outer_globals", "FLAT_THREADS", "VECTOR_LANES"]
