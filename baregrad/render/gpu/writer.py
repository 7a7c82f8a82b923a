"""The one GPU kernel writer: CUDA C, OpenCL C and WGSL from a linear program and its launch plan.

codegen/gpu.py decides the shape (ir/launch.py GPUPlan); this module writes it through a render/gpu/lang.py
`KernelLanguage`, one per dialect:
- MATMUL: the register tile of render/gpu/portable_matmul.py in every language (CUDA's fp32 included), or
  CUDA's tensor-core loop (render/gpu/cuda_matmul.py);
- VECTOR: elementwise kernels move 4 elements per load (uint4 chunks on CUDA, several per thread; vload4/vstore4
  in OpenCL C; WGSL has no vector loads from buffers and writes the 4 lanes one by one);
- BLOCK: one thread block per outer iteration; its threads share each reduce and combine their partials the
  language's way (warp shuffles on CUDA, a tree in local memory elsewhere);
- FLAT: one thread per output, the languages' own renderers.
"""
from __future__ import annotations

from typing import Callable

from baregrad.ir.launch import BlockShape, GPUPlan, Strategy, VectorShape
from baregrad.ir.linear import L, LinearProgram, LoopKind, LoopNode, loop_kind, loop_size, nested_chain, reduce_updates
from baregrad.render.cstyle import CUDA_DIALECT, CRenderer, Dialect
from baregrad.render.gpu import cuda_matmul, portable_matmul
from baregrad.render.gpu.lang import GROUP_ID, LOCAL_ID, CUDALanguage, KernelLanguage

VECTOR_LANES = 4


def render_gpu(prog: LinearProgram, plan: GPUPlan, lang: KernelLanguage,
               flat: Callable[[LinearProgram], str]) -> str:
    """Kernel text for `prog` shaped as `plan` says; `flat(prog)` renders the one-thread-per-output kernel."""
    if plan.strategy is Strategy.MATMUL:
        if plan.matmul.tile is None:   # CUDA's tensor cores
            return cuda_matmul.render(prog, plan.matmul, lang, plan.launches[0].smem > 0)
        return portable_matmul.render(prog, plan.matmul, lang)
    if plan.strategy is Strategy.VECTOR:
        return VectorWriter(prog, lang, plan.vector).source()
    if plan.strategy is Strategy.BLOCK:
        return BlockWriter(prog, lang, plan.block).source()
    return flat(prog)


def render_cuda(prog: LinearProgram, plan: GPUPlan, dialect: Dialect = CUDA_DIALECT) -> str:
    """CUDA C for `prog` shaped as `plan` says."""
    return render_gpu(prog, plan, CUDALanguage(dialect), CRenderer(dialect).render)


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


# ---- VECTOR: elementwise, 4 elements per load ----
class VectorWriter(_Writer):
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, shape: VectorShape):
        super().__init__(prog, lang)
        self.plan = shape
        self.loads, self.store = shape.loads, shape.store
        self.n = loop_size(prog, shape.loop) // VECTOR_LANES   # 4-element chunks

    def source(self) -> str:
        plan = self.plan
        at = next(k for k, x in enumerate(plan.tree) if x is plan.loop)
        if plan.unroll > 1:
            self.chunks(plan.tree[:at])
        else:
            self.single(plan.tree[:at])
        for i in plan.tree[at + 1:]:
            self.instr(i)
        return self.lang.kernel(self.prog, plan.threads, [], self.lines)

    def single(self, before: list) -> None:
        """One 4-element chunk per thread."""
        lang, threads = self.lang, self.plan.threads
        self.put(lang.let_int("t", f"{GROUP_ID} * {threads} + {LOCAL_ID}"))
        self.put(lang.if_open(f"t >= {self.n}") + " return; }")
        for i in before:
            self.instr(i)
        for i in sorted(self.loads):
            ins = self.prog.instrs[i]
            self.put(lang.vector_load(i, ins.dtype, ins.src[0]))
        if self.store is not None:
            st = self.prog.instrs[self.store]
            self.put(f"{lang.storage_type(st.dtype)} {', '.join(f'sv{k}' for k in range(VECTOR_LANES))};")
        for lane in range(VECTOR_LANES):
            self.lane(lane, lambda i, lane: lang.vector_lane(i, lane), lambda lane: f"sv{lane}")
        if self.store is not None:
            self.put(lang.vector_store(st.dtype, st.src[0], [f"sv{k}" for k in range(VECTOR_LANES)]))

    def chunks(self, before: list) -> None:
        """`unroll` chunks per thread, one block-width apart (coalesced), all loads issued before any math (CUDA)."""
        lang, threads, unroll, n = self.lang, self.plan.threads, self.plan.unroll, self.n
        self.put(f"const int t0 = {GROUP_ID} * {threads * unroll} + {LOCAL_ID};")
        for i in before:
            self.instr(i)
        for i in sorted(self.loads):
            ins = self.prog.instrs[i]
            vt = lang.vector_move_type(ins.dtype)
            self.put(f"__align__(16) {lang.storage_type(ins.dtype)} lv{i}[{unroll}][{VECTOR_LANES}];")
            src = f"{lang.name(ins.src[0])} + {VECTOR_LANES} * (t0 + u * {threads})"
            self.put("#pragma unroll")
            self.put(f"for (int u = 0; u < {unroll}; u++) if (t0 + u * {threads} < {n}) "
                     f"*({vt}*)lv{i}[u] = *(const {vt}*)({src});")
        if self.store is not None:
            st = self.prog.instrs[self.store]
            self.put(f"__align__(16) {lang.storage_type(st.dtype)} sv[{VECTOR_LANES}];")
        self.put("#pragma unroll")
        self.open(f"for (int u = 0; u < {unroll}; u++) {{")
        self.put(f"const int t = t0 + u * {threads};")
        self.put(f"if (t >= {n}) break;")
        for lane in range(VECTOR_LANES):
            self.lane(lane, lambda i, lane: f"lv{i}[u][{lane}]", lambda lane: f"sv[{lane}]", declare=True)
        if self.store is not None:
            vt = lang.vector_move_type(st.dtype)
            self.put(f"*({vt}*)({lang.name(st.src[0])} + {VECTOR_LANES} * t) = *(const {vt}*)sv;")
        self.close()

    def lane(self, lane: int, loaded: Callable[[int, int], str], stored: Callable[[int], str],
             declare: bool = False) -> None:
        """One element's body: vector-loaded values are lanes of their vector (`declare`: copied into a variable
        first, converted once), the vector-stored one goes to `stored(lane)`."""
        rng = self.prog.instrs[self.plan.loop.start].arg
        self.open("{")
        self.lang.bind(self.plan.loop.start, rng.name)
        self.put(self.lang.let_int(rng.name, f"{VECTOR_LANES} * t + {lane}"))
        for i in self.plan.loop.body:
            ins = self.prog.instrs[i]
            if i in self.loads and declare:
                self.lang.bind(i, f"v{i}")
                self.put(self.lang.let(f"v{i}", self.lang.compute_type(ins.dtype),
                                       self.lang.from_storage(loaded(i, lane), ins.dtype)))
            elif i in self.loads:
                self.lang.bind(i, self.lang.from_storage(loaded(i, lane), ins.dtype))
            elif i == self.store:
                self.put(f"{stored(lane)} = {self.lang.to_storage(self.lang.name(ins.src[2]), ins.dtype)};")
            else:
                self.instr(i)
        self.close()


# ---- BLOCK: a thread block per outer iteration, cooperative reduces ----
class BlockWriter(_Writer):
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, shape: BlockShape):
        super().__init__(prog, lang)
        self.outer, self.tree, self.threads, self.blocks = shape.outer, shape.tree, shape.threads, shape.blocks
        self.outer_starts = {x.start for x in shape.outer}
        self.n_flat = 0

    def source(self) -> str:
        self.put(self.lang.if_open(f"{GROUP_ID} >= {self.blocks}") + " return; }")  # a 2D dispatch may round up
        stride = self.blocks
        for x in self.outer:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.lang.bind(x.start, rng.name)
            self.put(self.lang.let_int(rng.name, f"({GROUP_ID} / {stride}) % {rng.size}"))
        self.walk(self.tree, owned=False)
        return self.lang.kernel(self.prog, self.threads, list(self.locals.values()), self.lines)

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
        """The block's threads take the iterations of a (flattened) loop nest in turn."""
        chain, between, body = nested_chain(self.prog, loop)
        total = 1
        for x in chain:
            total *= loop_size(self.prog, x)
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
        if loop_kind(self.prog, loop) is LoopKind.REDUCE:
            for acc, op in reduce_updates(self.prog, loop):
                locals_, lines = self.lang.block_combine(acc, op, self.prog.instrs[acc].dtype, self.threads)
                self.locals.update(locals_)
                for line in lines:
                    self.put(line)


__all__ = ["render_gpu", "render_cuda", "VectorWriter", "BlockWriter"]
