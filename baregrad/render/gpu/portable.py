"""GPU kernel shaping for the portable devices (OpenCL, WebGPU): codegen/gpu.py's strategies in their languages.

The decisions are gpu.py's own (its matmul matcher, its VECTOR candidate, its BLOCK heuristics: which global
loops become work-groups, how many threads share each reduce); this module writes them through a
codegen/gpu_lang.py KernelLanguage, within the device's limits (a gpu.GPUTarget queried from the device):
- MATMUL: codegen/gpu_portable_matmul.py, register-tiled, local-memory tiles where local memory is on-chip;
- VECTOR: elementwise kernels move 4 elements per work-item (vload4/vstore4 in OpenCL C);
- BLOCK: one work-group per outer iteration; its work-items share each reduce and combine their partials
  with a tree in local memory between barriers (the tree is written out, so it adds no loop iterations);
- FLAT: one work-item per output, the languages' own renderers.
Threads per group are capped by the device's work-group limit and local memory; a shape that does not fit
falls back to FLAT. `loop_limit` (lavapipe stops every loop of a thread after 65535 iterations in total)
makes a reduce take the BLOCK shape, whose threads each run a share of the loop, when FLAT would pass it.
"""
from __future__ import annotations

import math
from typing import Callable

from baregrad import dtype as dt
from baregrad.codegen import gpu
from baregrad.codegen.gpu import GPUPlan, GPUTarget, Launch, LoopNode, Strategy, loop_tree, loops_in
from baregrad.render.gpu.lang import GROUP_ID, LOCAL_ID, KernelLanguage
from baregrad.ir.linear import L, LinearProgram, LoopKind
from baregrad.render.cstyle import CUDA_DIALECT, global_size

VECTOR_LANES = gpu.VECTOR_LANES


def render(prog: LinearProgram, target: GPUTarget, lang: KernelLanguage,
           flat: Callable[[LinearProgram], tuple[str, int]]) -> str:
    """Kernel text for `prog`, whose first line is the GPUPlan comment that says how to launch it.

    `flat(prog)` renders the one-work-item-per-output kernel and returns (source, threads per group)."""
    from baregrad.render.gpu import cuda_matmul as gpu_matmul, portable_matmul as gpu_portable_matmul
    matmul = gpu_matmul.match(prog)
    if matmul is not None:
        source = gpu_portable_matmul.render(prog, matmul, target, lang)
        if source is not None:
            return source
    tree = loop_tree(prog)
    reduces = [x for x in gpu.walk_loops(tree) if gpu.loop_kind(prog, x) is LoopKind.REDUCE]
    if not reduces:
        vec = gpu.vector_candidate(prog, tree)
        if vec is not None:
            return _VectorWriter(prog, lang, vec).source(target)
        return _flat(prog, flat)
    block = BlockWriter(prog, lang, gpu.outer_globals(prog, tree), target)
    past_limit = target.loop_limit and thread_iterations(prog, tree, {}, 1) > target.loop_limit
    if block.fits() and (block.worthwhile() or past_limit):
        return block.source()
    return _flat(prog, flat)


def _flat(prog: LinearProgram, flat: Callable[[LinearProgram], tuple[str, int]]) -> str:
    source, threads = flat(prog)
    total = max(1, global_size(prog))
    plan = GPUPlan(Strategy.FLAT, (Launch(prog.name, (-(-total // threads), 1, 1), (threads, 1, 1)),))
    return plan.comment() + "\n" + source


def flat_threads(prog: LinearProgram, target: GPUTarget) -> int:
    """Work-items per group for a FLAT kernel: gpu.py's choice, within the device's work-group limit."""
    if not any(ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL for ins in prog.instrs):
        return 1  # no global loop: the kernel has no bounds check, so exactly one work-item may run it
    total = max(1, global_size(prog))
    return min(gpu.FLAT_THREADS, _pow2_floor(target.max_threads), max(32, 1 << (total - 1).bit_length()))


def _pow2_floor(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def thread_iterations(prog: LinearProgram, items: list, shared: dict[int, int], threads: int) -> int:
    """Loop iterations one thread runs; loops in `shared` (start -> flattened size) are split across `threads`."""
    total = 0
    for x in loops_in(items):
        if x.start in shared:
            body = gpu.nested_chain(prog, x)[2]
            n = -(-shared[x.start] // threads)
        else:
            body, n = x.body, gpu.loop_size(prog, x)
        total += n * (1 + thread_iterations(prog, body, shared, threads))
    return total


class _Writer:
    """Collects indented lines and local-memory declarations while walking a program."""

    def __init__(self, prog: LinearProgram, lang: KernelLanguage):
        self.prog, self.lang = prog, lang
        lang.start(prog)
        self.lines: list[str] = []
        self.locals: dict[str, str] = {}
        self.depth = 0

    def put(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def open(self, text: str) -> None:
        self.put(text)
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.put("}")

    def instr(self, i: int) -> None:
        if self.prog.instrs[i].op not in (L.PARAM, L.CONST):
            for line in self.lang.statement(i):
                self.put(line)


# ---- VECTOR: elementwise, 4 elements per work-item ----
class _VectorWriter(_Writer):
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, plan):
        super().__init__(prog, lang)
        self.plan = plan
        self.vector = lang.vector_width == VECTOR_LANES
        self.loads = {i for i in plan.loads if self.vector_ok(i)}
        self.store = plan.store if plan.store is not None and self.vector_ok(plan.store) else None

    def vector_ok(self, i: int) -> bool:
        return self.vector and self.prog.instrs[i].dtype is not dt.float64

    def source(self, target: GPUTarget) -> str:
        prog, plan = self.prog, self.plan
        n = gpu.loop_size(prog, plan.loop) // VECTOR_LANES
        threads = min(gpu.FLAT_THREADS, _pow2_floor(target.max_threads))
        self.put(self.lang.let_int("t", f"{GROUP_ID} * {threads} + {LOCAL_ID}"))
        self.put(self.lang.if_open(f"t >= {n}") + " return; }")
        at = next(k for k, x in enumerate(plan.tree) if x is plan.loop)
        for i in plan.tree[:at]:
            self.instr(i)
        for i in sorted(self.loads):
            ins = self.prog.instrs[i]
            vt = self.lang.vector_type(ins.dtype)
            self.put(f"const {vt} lv{i} = vload{VECTOR_LANES}(t, {self.lang.name(ins.src[0])});")
        if self.store is not None:
            st = self.prog.instrs[self.store]
            self.put(f"{self.lang.r.storage_type(st.dtype)} {', '.join(f'sv{k}' for k in range(VECTOR_LANES))};")
        for lane in range(VECTOR_LANES):
            self.lane(lane)
        if self.store is not None:
            vt = self.lang.vector_type(st.dtype)
            values = ", ".join(f"sv{k}" for k in range(VECTOR_LANES))
            self.put(f"vstore{VECTOR_LANES}(({vt})({values}), t, {self.lang.name(st.src[0])});")
        for i in plan.tree[at + 1:]:
            self.instr(i)
        launch = Launch(prog.name, (-(-n // threads), 1, 1), (threads, 1, 1))
        return GPUPlan(Strategy.VECTOR, (launch,)).comment() + "\n" + self.lang.kernel(prog, threads, [], self.lines)

    def lane(self, lane: int) -> None:
        """One element's body; vector-loaded values are lanes of their vector, the vector-stored one goes to sv."""
        rng = self.prog.instrs[self.plan.loop.start].arg
        self.open("{")
        self.lang.bind(self.plan.loop.start, rng.name)
        self.put(self.lang.let_int(rng.name, f"{VECTOR_LANES} * t + {lane}"))
        for i in self.plan.loop.body:
            ins = self.prog.instrs[i]
            if i in self.loads:
                self.lang.bind(i, self.lang.r.from_storage(f"lv{i}.s{lane}", ins.dtype))
            elif i == self.store:
                self.put(f"sv{lane} = {self.lang.r.to_storage(self.lang.name(ins.src[2]), ins.dtype)};")
            else:
                self.instr(i)
        self.close()


# ---- BLOCK: a work-group per outer iteration, cooperative reduces ----
class BlockWriter(_Writer):
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, outer: list[LoopNode], target: GPUTarget):
        super().__init__(prog, lang)
        shape = gpu.BlockWriter(prog, CUDA_DIALECT, outer)  # gpu.py's heuristics decide the shape
        self.shape, self.target = shape, target
        self.outer, self.outer_starts, self.blocks = outer, shape.outer_starts, shape.blocks
        self.tree = loop_tree(prog)
        self.threads = min(shape.threads, _pow2_floor(target.max_threads))
        self.n_flat = 0

    def worthwhile(self) -> bool:
        return self.shape.worthwhile()

    def fits(self) -> bool:
        """Enough threads for a tree, its scratch within local memory, and (lavapipe) each thread's loops."""
        dtypes = {self.prog.instrs[i].dtype for i in range(len(self.prog.instrs))
                  if self.prog.instrs[i].op is L.ACC}
        scratch = sum(self.lang.local_type(d)[1] for d in dtypes) * self.threads
        shared = {x.start: math.prod(gpu.loop_size(self.prog, y) for y in gpu.nested_chain(self.prog, x)[0])
                  for x in self.shape.block_loops}
        iterations = thread_iterations(self.prog, self.tree, shared, self.threads)
        within_limit = not self.target.loop_limit or iterations <= self.target.loop_limit
        return self.threads >= 2 and scratch <= self.target.local_bytes and within_limit

    def source(self) -> str:
        self.depth = 0
        self.put(self.lang.if_open(f"{GROUP_ID} >= {self.blocks}") + " return; }")
        stride = self.blocks
        for x in self.outer:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.lang.bind(x.start, rng.name)
            self.put(self.lang.let_int(rng.name, f"({GROUP_ID} / {stride}) % {rng.size}"))
        self.walk(self.tree, owned=False)
        launch = Launch(self.prog.name, (self.blocks, 1, 1), (self.threads, 1, 1))
        body = self.lang.kernel(self.prog, self.threads, list(self.locals.values()), self.lines)
        return GPUPlan(Strategy.BLOCK, (launch,)).comment() + "\n" + body

    def walk(self, items: list, owned: bool) -> None:
        for x in items:
            if isinstance(x, int):
                if self.prog.instrs[x].op is L.STORE and not owned:
                    self.open(self.lang.if_open(f"{LOCAL_ID} == 0"))
                    self.instr(x)
                    self.close()
                else:
                    self.instr(x)
            elif x.start in self.outer_starts:
                self.walk(x.body, owned)
            elif owned:
                self.serial_loop(x)
            else:
                self.shared_loop(x)

    def serial_loop(self, loop: LoopNode) -> None:
        rng = self.prog.instrs[loop.start].arg
        self.lang.bind(loop.start, rng.name)
        self.open(self.lang.loop(rng.name, "0", rng.size, 1))
        self.walk(loop.body, True)
        self.close()

    def shared_loop(self, loop: LoopNode) -> None:
        """The group's work-items take the iterations of a (flattened) loop nest in turn."""
        chain, between, body = gpu.nested_chain(self.prog, loop)
        total = math.prod(gpu.loop_size(self.prog, x) for x in chain)
        f = f"f{self.n_flat}"
        self.n_flat += 1
        self.open(self.lang.loop(f, LOCAL_ID, total, self.threads))
        stride = total
        for x in chain:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.lang.bind(x.start, rng.name)
            index = f"({f} / {stride}) % {rng.size}" if stride > 1 else f"{f} % {rng.size}"
            self.put(self.lang.let_int(rng.name, index))
        for i in between:
            self.instr(i)
        self.walk(body, owned=True)
        self.close()
        if gpu.loop_kind(self.prog, loop) is LoopKind.REDUCE:
            for acc, op in self.shape.accs_updated(loop):
                self.combine(acc, op)

    def combine(self, acc: int, op) -> None:
        """Reduce one accumulator across the group by a tree in local memory; every work-item gets the total."""
        d = self.prog.instrs[acc].dtype
        elem, _ = self.lang.local_type(d)
        red = f"red_{elem}"
        self.locals[red] = self.lang.local_array(red, elem, self.threads)
        name, lang = self.lang.name(acc), self.lang
        self.put(f"{red}[{LOCAL_ID}] = {lang.to_local(name, d)};")
        self.put(lang.barrier())
        half = self.threads // 2
        while half:
            mine, other = lang.from_local(f"{red}[{LOCAL_ID}]", d), lang.from_local(f"{red}[{LOCAL_ID} + {half}]", d)
            step = lang.to_local(lang.combine(op, mine, other, d), d)
            self.put(lang.if_open(f"{LOCAL_ID} < {half}") + f" {red}[{LOCAL_ID}] = {step}; }}")
            self.put(lang.barrier())
            half //= 2
        self.put(f"{name} = {lang.from_local(f'{red}[0]', d)};")
        self.put(lang.barrier())  # everyone has read the total before the scratch is reused


__all__ = ["render", "flat_threads", "thread_iterations"]
