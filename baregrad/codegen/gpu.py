"""GPU kernel shaping: how one linear program becomes CUDA C and a launch (grid, block), chosen by heuristics.

Strategies, tried in order:
- MATMUL: a reduce-of-multiply of two loads is a matmul; codegen/gpu_matmul.py emits a tiled kernel
  (tensor cores for fp16/bf16, and tf32 when allowed; a register-blocked SIMT kernel for fp32).
- VECTOR: elementwise kernels whose loads and store index the flat output index directly move 4 elements
  per thread with one 16/8/4-byte load or store per buffer (aligned: buffers start 256-byte aligned).
- BLOCK: one thread block per iteration of the global loops that enclose the reduces; its threads split
  each reduce (warp shuffles, then shared memory across warps) and split any global loop after it, so a
  softmax row is read by a whole block once instead of once per output element.
- FLAT: every global loop mapped onto one flat thread id (the CRenderer's own GPU mode).
The CPU never comes here: only a device with `is_gpu = True` renders through this module. The launch is
written into the source as one comment line, so a compiled binary's cache entry and its launch travel together.
"""
from __future__ import annotations

import enum
import json
import math
import os
from dataclasses import asdict, dataclass

from baregrad import dtype as dt
from baregrad.ir.linear import (L, LinearProgram, LoopKind, LoopNode, loop_kind, loop_size, loop_tree, loops_in,
                                nested_chain, walk_loops)
from baregrad.render.cstyle import CUDA_DIALECT, CRenderer, Dialect, global_size

PLAN_TAG = "// baregrad-launch: "
FLAT_THREADS = 256
VECTOR_LANES = 4
VECTOR_UNROLL = 4   # 4-element chunks per thread in VECTOR kernels: more bytes in flight per thread


def _vector_unroll() -> int:
    """VECTOR_UNROLL, or BAREGRAD_GPU_UNROLL (benchmarking knob)."""
    return int(os.environ.get("BAREGRAD_GPU_UNROLL", VECTOR_UNROLL))


class Strategy(enum.Enum):
    FLAT = "flat"
    VECTOR = "vector"
    BLOCK = "block"
    MATMUL = "matmul"


@dataclass(frozen=True)
class GPUTarget:
    """What kernel shaping needs to know about the GPU."""
    arch: int = 90            # sm_XX as an integer
    sms: int = 132            # streaming multiprocessors
    allow_tf32: bool = False  # fp32 matmuls may round inputs to tf32 on tensor cores
    # limits of the portable devices (OpenCL, WebGPU), queried from the device (codegen/gpu_portable.py)
    max_threads: int = 1024           # work-items per work-group
    local_bytes: int = 48 * 1024      # local (shared / workgroup) memory per work-group
    local_is_fast: bool = True        # local memory is on-chip (False: emulated in cached global memory, e.g. CPUs)
    loop_limit: int = 0               # loop iterations one thread may run in total (0: none; lavapipe stops at 65535)


@dataclass(frozen=True)
class Launch:
    name: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    smem: int = 0             # dynamic shared memory bytes


@dataclass(frozen=True)
class GPUPlan:
    strategy: Strategy
    launches: tuple[Launch, ...]

    def comment(self) -> str:
        launches = [asdict(x) for x in self.launches]
        return PLAN_TAG + json.dumps({"strategy": self.strategy.value, "launches": launches})

    @staticmethod
    def from_source(source: str) -> "GPUPlan":
        line = next(x for x in source.splitlines() if x.startswith(PLAN_TAG))
        data = json.loads(line[len(PLAN_TAG):])
        launches = tuple(Launch(x["name"], tuple(x["grid"]), tuple(x["block"]), x["smem"]) for x in data["launches"])
        return GPUPlan(Strategy(data["strategy"]), launches)


# ---- entry point ----
def render(prog: LinearProgram, target: GPUTarget, dialect: Dialect = CUDA_DIALECT) -> str:
    """CUDA C for `prog`, whose first line is the GPUPlan comment that says how to launch it."""
    from baregrad.render.gpu import cuda_matmul as gpu_matmul
    matmul = gpu_matmul.match(prog)
    if matmul is not None:
        return gpu_matmul.render(prog, matmul, target, dialect)
    tree = loop_tree(prog)
    reduces = [x for x in walk_loops(tree) if loop_kind(prog, x) is LoopKind.REDUCE]
    if not reduces:
        vec = vector_candidate(prog, tree)
        if vec is not None:
            return _VectorWriter(prog, dialect, vec).source()
        return _flat(prog, dialect)
    outer = outer_globals(prog, tree)
    block = BlockWriter(prog, dialect, outer)
    if block.worthwhile():
        return block.source()
    return _flat(prog, dialect)


def _flat(prog: LinearProgram, dialect: Dialect) -> str:
    total = max(1, global_size(prog))
    threads = min(FLAT_THREADS, max(32, 1 << (total - 1).bit_length()))
    plan = GPUPlan(Strategy.FLAT, (Launch(prog.name, (-(-total // threads), 1, 1), (threads, 1, 1)),))
    return plan.comment() + "\n" + CRenderer(dialect).render(prog)


# ---- shared writing helpers ----
class _Writer:
    """Walks instructions through a CRenderer, with indentation; subclasses shape the loops."""

    def __init__(self, prog: LinearProgram, dialect: Dialect):
        self.prog, self.d = prog, dialect
        self.r = CRenderer(dialect)
        self.r.names = {}
        self.lines: list[str] = []
        self.depth = 1

    def put(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def instr(self, i: int) -> None:
        ins = self.prog.instrs[i]
        if ins.op is L.PARAM:
            self.r.names[i] = f"p{ins.arg.index}"
        elif ins.op is L.CONST:
            self.r.names[i] = self.r.literal(ins.arg, ins.dtype)
        else:
            self.put(self.r.statement(i, ins, self.prog))

    def serial_loop(self, loop: LoopNode, body) -> None:
        rng = self.prog.instrs[loop.start].arg
        self.r.names[loop.start] = rng.name
        self.put(f"for (int {rng.name} = 0; {rng.name} < {rng.size}; {rng.name}++) {{")
        self.depth += 1
        body(loop.body)
        self.depth -= 1
        self.put("}")

    def finish(self, plan: GPUPlan, threads: int) -> str:
        params = ", ".join(self.r.param_decl(p) for p in self.prog.params)
        prefix = self.d.kernel_prefix + f" __launch_bounds__({threads})"
        head = f"{prefix} {self.prog.name}({params}) {{"
        return "\n".join([plan.comment(), self.d.preamble, head, *self.lines, "}", ""])


# ---- VECTOR: elementwise, several elements per thread ----
_VEC_TYPES = {4: "uint4", 2: "uint2", 1: "unsigned int"}  # by element size: the type moving 4 elements at once


@dataclass(frozen=True)
class VectorPlan:
    """A single elementwise loop whose loads and store can move 4 values at a time."""
    tree: list
    loop: LoopNode
    loads: frozenset[int]     # LOAD instructions read 4-wide
    store: int | None         # the STORE written 4-wide, if its index allows


def vector_candidate(prog: LinearProgram, tree: list) -> VectorPlan | None:
    """The 4-wide plan for a program that is one elementwise loop (None when it is not, or indexes allow no vector)."""
    loops = loops_in(tree)
    if len(loops) != 1 or loops_in(loops[0].body) or loop_size(prog, loops[0]) % VECTOR_LANES:
        return None
    loop = loops[0]
    loads, store = set(), None
    for i in loop.body:
        ins = prog.instrs[i]
        if ins.op not in (L.LOAD, L.STORE) or ins.src[1] != loop.start or ins.dtype.itemsize not in _VEC_TYPES:
            continue
        if ins.op is L.STORE:
            store = i
        elif len(ins.src) < 3 or _is_true(prog, ins.src[2]):
            loads.add(i)
    if not loads and store is None:
        return None
    return VectorPlan(tree, loop, frozenset(loads), store)


def _is_true(prog: LinearProgram, i: int) -> bool:
    ins = prog.instrs[i]
    return ins.op is L.CONST and ins.arg is True


class _VectorWriter(_Writer):
    def __init__(self, prog: LinearProgram, dialect: Dialect, plan: VectorPlan):
        super().__init__(prog, dialect)
        self.plan = plan

    def source(self) -> str:
        prog, plan = self.prog, self.plan
        n = loop_size(prog, plan.loop) // VECTOR_LANES
        threads, unroll = FLAT_THREADS, _vector_unroll()
        # each thread moves `unroll` 4-element chunks, one block-width apart (coalesced), all loads issued first
        self.put(f"const int t0 = blockIdx.x * {threads * unroll} + threadIdx.x;")
        loop_pos = self.tree_position()
        for i in loop_pos[0]:
            self.instr(i)
        for i in sorted(plan.loads):
            self.vector_load(i, unroll, threads)
        if plan.store is not None:
            st = prog.instrs[plan.store]
            self.put(f"__align__(16) {self.r.storage_type(st.dtype)} sv[{VECTOR_LANES}];")
        self.put("#pragma unroll")
        self.put(f"for (int u = 0; u < {unroll}; u++) {{")
        self.depth += 1
        self.put(f"const int t = t0 + u * {threads};")
        self.put(f"if (t >= {n}) break;")
        for lane in range(VECTOR_LANES):
            self.lane(lane)
        if plan.store is not None:
            st = prog.instrs[plan.store]
            vt = _VEC_TYPES[st.dtype.itemsize]
            self.put(f"*({vt}*)({self.r.names[st.src[0]]} + {VECTOR_LANES} * t) = *(const {vt}*)sv;")
        self.depth -= 1
        self.put("}")
        for i in loop_pos[1]:
            self.instr(i)
        launch = Launch(prog.name, (-(-n // (threads * unroll)), 1, 1), (threads, 1, 1))
        return self.finish(GPUPlan(Strategy.VECTOR, (launch,)), threads)

    def tree_position(self) -> tuple[list[int], list[int]]:
        tree = self.plan.tree
        at = next(i for i, x in enumerate(tree) if x is self.plan.loop)
        return [x for x in tree[:at]], [x for x in tree[at + 1:]]

    def vector_load(self, i: int, unroll: int, threads: int) -> None:
        ins = self.prog.instrs[i]
        st, vt = self.r.storage_type(ins.dtype), _VEC_TYPES[ins.dtype.itemsize]
        n = loop_size(self.prog, self.plan.loop) // VECTOR_LANES
        self.put(f"__align__(16) {st} lv{i}[{unroll}][{VECTOR_LANES}];")
        src = f"{self.r.names[ins.src[0]]} + {VECTOR_LANES} * (t0 + u * {threads})"
        self.put(f"#pragma unroll\n  for (int u = 0; u < {unroll}; u++) if (t0 + u * {threads} < {n}) "
                 f"*({vt}*)lv{i}[u] = *(const {vt}*)({src});")

    def lane(self, lane: int) -> None:
        rng = self.prog.instrs[self.plan.loop.start].arg
        self.put("{")
        self.depth += 1
        self.r.names[self.plan.loop.start] = rng.name
        self.put(f"int {rng.name} = {VECTOR_LANES} * t + {lane};")
        for i in self.plan.loop.body:
            ins = self.prog.instrs[i]
            if i in self.plan.loads:
                self.r.names[i] = f"v{i}"
                value = self.r.from_storage(f"lv{i}[u][{lane}]", ins.dtype)
                self.put(f"{self.r.compute_type(ins.dtype)} v{i} = {value};")
            elif i == self.plan.store:
                self.put(f"sv[{lane}] = {self.r.to_storage(self.r.names[ins.src[2]], ins.dtype)};")
            else:
                self.instr(i)
        self.depth -= 1
        self.put("}")


# ---- BLOCK: a thread block per outer iteration, cooperative reduces ----
def outer_globals(prog: LinearProgram, tree: list) -> list[LoopNode]:
    """The global loops enclosing the first reduce that sits directly inside global loops."""
    def search(items: list, chain: list[LoopNode]) -> list[LoopNode] | None:
        for x in loops_in(items):
            if loop_kind(prog, x) is LoopKind.REDUCE:
                return chain
            found = search(x.body, chain + [x])
            if found is not None:
                return found
        return None
    return search(tree, []) or []


class BlockWriter(_Writer):
    """A kernel with a block per iteration of the outer global loops and its threads sharing the inner work."""

    def __init__(self, prog: LinearProgram, dialect: Dialect, outer: list[LoopNode]):
        super().__init__(prog, dialect)
        self.outer = outer
        self.outer_starts = {x.start for x in outer}
        self.blocks = math.prod(loop_size(prog, x) for x in outer)
        self.tree = loop_tree(prog)
        self.block_loops = self.collect_block_level(self.tree)
        extents = [math.prod(loop_size(prog, x) for x in nested_chain(prog, loop)[0]) for loop in self.block_loops]
        self.max_extent = max(extents, default=1)
        self.threads = min(256, max(32, 1 << (self.max_extent - 1).bit_length()))
        self.n_flat = 0

    def collect_block_level(self, items: list) -> list[LoopNode]:
        out = []
        for x in loops_in(items):
            out.extend(self.collect_block_level(x.body) if x.start in self.outer_starts else [x])
        return out

    def worthwhile(self) -> bool:
        inner_global = any(loop_kind(self.prog, x) is LoopKind.GLOBAL for x in self.block_loops)
        return inner_global or self.max_extent >= 64 or self.blocks < 2048

    def source(self) -> str:
        self.put("const int bidx = blockIdx.x;")
        stride = self.blocks
        for x in self.outer:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.r.names[x.start] = rng.name
            self.put(f"const int {rng.name} = (bidx / {stride}) % {rng.size};")
        self.walk(self.tree, owned=False)
        launch = Launch(self.prog.name, (self.blocks, 1, 1), (self.threads, 1, 1))
        return self.finish(GPUPlan(Strategy.BLOCK, (launch,)), self.threads)

    def walk(self, items: list, owned: bool) -> None:
        for x in items:
            if isinstance(x, int):
                if self.prog.instrs[x].op is L.STORE and not owned:
                    self.put("if (threadIdx.x == 0)")
                    self.depth += 1
                    self.instr(x)
                    self.depth -= 1
                else:
                    self.instr(x)
            elif x.start in self.outer_starts:
                self.walk(x.body, owned)
            elif owned:
                self.serial_loop(x, lambda body: self.walk(body, True))
            else:
                self.shared_loop(x)

    def shared_loop(self, loop: LoopNode) -> None:
        """The block's threads take the iterations of a (flattened) loop nest in turn."""
        chain, between, body = nested_chain(self.prog, loop)
        total = math.prod(loop_size(self.prog, x) for x in chain)
        f = f"f{self.n_flat}"
        self.n_flat += 1
        self.put(f"for (int {f} = threadIdx.x; {f} < {total}; {f} += {self.threads}) {{")
        self.depth += 1
        stride = total
        for x in chain:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.r.names[x.start] = rng.name
            self.put(f"const int {rng.name} = ({f} / {stride}) % {rng.size};" if stride > 1 else
                     f"const int {rng.name} = {f} % {rng.size};")
        for i in between:
            self.instr(i)
        self.walk(body, owned=True)
        self.depth -= 1
        self.put("}")
        if loop_kind(self.prog, loop) is LoopKind.REDUCE:
            for acc, op in self.accs_updated(loop):
                self.combine(acc, op)

    def accs_updated(self, loop: LoopNode) -> list[tuple[int, object]]:
        out = {}
        for i in range(loop.start, loop.end):
            ins = self.prog.instrs[i]
            if ins.op is L.UPDATE and ins.src[0] < loop.start:
                out[ins.src[0]] = ins.arg
        return list(out.items())

    def combine(self, acc: int, op) -> None:
        """Reduce one accumulator across the block; every thread ends with the total."""
        d = self.prog.instrs[acc].dtype
        ctype, name = self.r.compute_type(d), self.r.names[acc]
        small = d is dt.bool_ or (d.itemsize < 4 and not d.is_float)
        self.put("{")
        self.depth += 1
        shfl = f"({ctype})__shfl_xor_sync(0xffffffffu, (int)w, o)" if small else "__shfl_xor_sync(0xffffffffu, w, o)"
        self.put(f"{ctype} w = {name};")
        # every lane must reach each shuffle: take it into a variable before the (short-circuiting) combine
        step = self.r.round_result(d, self.r.reduce_expr(op, "w", "s", d))
        self.put(f"for (int o = 16; o > 0; o >>= 1) {{ {ctype} s = {shfl}; w = {step}; }}")
        warps = self.threads // 32
        if warps > 1:
            self.put(f"__shared__ {ctype} red{acc}[{warps}];")
            self.put(f"if ((threadIdx.x & 31) == 0) red{acc}[threadIdx.x >> 5] = w;")
            self.put("__syncthreads();")
            self.put(f"w = red{acc}[0];")
            step = self.r.round_result(d, self.r.reduce_expr(op, "w", f"red{acc}[q]", d))
            self.put(f"for (int q = 1; q < {warps}; q++) w = {step};")
            self.put("__syncthreads();")
        self.put(f"{name} = w;")
        self.depth -= 1
        self.put("}")


def plan_of(source: str) -> GPUPlan:
    """The launch plan written at the top of a source this module rendered."""
    return GPUPlan.from_source(source)


__all__ = ["GPUTarget", "GPUPlan", "Launch", "Strategy", "render", "plan_of", "loop_tree", "LoopNode"]
