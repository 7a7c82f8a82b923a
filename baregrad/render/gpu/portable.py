"""OpenCL C and WGSL kernels for a linear program and its launch plan (codegen/gpu.py decides; this writes).

The shapes are CUDA's (render/gpu/cuda.py), written through a render/gpu/lang.py KernelLanguage:
- MATMUL: render/gpu/portable_matmul.py, register-tiled, local-memory tiles where the plan says so;
- VECTOR: elementwise kernels move 4 elements per work-item (vload4/vstore4 in OpenCL C);
- BLOCK: one work-group per outer iteration; its work-items share each reduce and combine their partials
  with a tree in local memory between barriers (the tree is written out, so it adds no loop iterations);
- FLAT: one work-item per output, the languages' own renderers.
"""
from __future__ import annotations

from typing import Callable

from baregrad.ir.launch import BlockShape, GPUPlan, Strategy, VectorShape
from baregrad.ir.linear import L, LinearProgram, LoopKind, LoopNode, loop_kind, loop_size, nested_chain, reduce_updates
from baregrad.render.gpu import portable_matmul
from baregrad.render.gpu.lang import GROUP_ID, LOCAL_ID, KernelLanguage

VECTOR_LANES = 4


def render_portable(prog: LinearProgram, plan: GPUPlan, lang: KernelLanguage,
                    flat: Callable[[LinearProgram], str]) -> str:
    """Kernel text for `prog` shaped as `plan` says; `flat(prog)` renders the one-work-item-per-output kernel."""
    if plan.strategy is Strategy.MATMUL:
        return portable_matmul.render(prog, plan.matmul, lang)
    if plan.strategy is Strategy.VECTOR:
        return _VectorWriter(prog, lang, plan.vector).source()
    if plan.strategy is Strategy.BLOCK:
        return BlockWriter(prog, lang, plan.block).source()
    return flat(prog)


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
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, shape: VectorShape):
        super().__init__(prog, lang)
        self.plan = shape
        self.loads, self.store = shape.loads, shape.store

    def source(self) -> str:
        prog, plan = self.prog, self.plan
        n = loop_size(prog, plan.loop) // VECTOR_LANES
        threads = plan.threads
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
        return self.lang.kernel(prog, threads, [], self.lines)

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
    def __init__(self, prog: LinearProgram, lang: KernelLanguage, shape: BlockShape):
        super().__init__(prog, lang)
        self.outer, self.tree, self.threads, self.blocks = shape.outer, shape.tree, shape.threads, shape.blocks
        self.outer_starts = {x.start for x in shape.outer}
        self.n_flat = 0

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
        """The group's work-items take the iterations of a (flattened) loop nest in turn."""
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


__all__ = ["render_portable", "BlockWriter"]
