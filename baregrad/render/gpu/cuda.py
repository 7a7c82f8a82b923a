"""CUDA C for a linear program and its launch plan (codegen/gpu.py decides the plan; this module only writes).

FLAT kernels are the CRenderer's own GPU mode; VECTOR kernels move 4 elements per load with `uint4`-style
moves, several chunks per thread; BLOCK kernels give a block to each outer iteration and combine each reduce
with warp shuffles, then shared memory across warps; MATMUL kernels come from render/gpu/cuda_matmul.py.
"""
from __future__ import annotations

from baregrad import dtype as dt
from baregrad.ir.launch import BlockShape, GPUPlan, Strategy, VectorShape
from baregrad.ir.linear import L, LinearProgram, LoopKind, LoopNode, loop_kind, loop_size, nested_chain, reduce_updates
from baregrad.render.cstyle import CUDA_DIALECT, CRenderer, Dialect
from baregrad.render.gpu import cuda_matmul

VECTOR_LANES = 4
_VEC_TYPES = {4: "uint4", 2: "uint2", 1: "unsigned int"}  # by element size: the type moving 4 elements at once


def render_cuda(prog: LinearProgram, plan: GPUPlan, dialect: Dialect = CUDA_DIALECT) -> str:
    """The CUDA C source of `prog` shaped as `plan` says."""
    if plan.strategy is Strategy.MATMUL:
        return cuda_matmul.render(prog, plan.matmul, dialect, plan.launches[0].smem > 0)
    if plan.strategy is Strategy.VECTOR:
        return _VectorWriter(prog, dialect, plan.vector).source()
    if plan.strategy is Strategy.BLOCK:
        return BlockWriter(prog, dialect, plan.block).source()
    return CRenderer(dialect).render(prog)


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

    def finish(self, threads: int) -> str:
        params = ", ".join(self.r.param_decl(p) for p in self.prog.params)
        prefix = self.d.kernel_prefix + f" __launch_bounds__({threads})"
        head = f"{prefix} {self.prog.name}({params}) {{"
        return "\n".join([self.d.preamble, head, *self.lines, "}", ""])


# ---- VECTOR: elementwise, several elements per thread ----
class _VectorWriter(_Writer):
    def __init__(self, prog: LinearProgram, dialect: Dialect, shape: VectorShape):
        super().__init__(prog, dialect)
        self.plan = shape

    def source(self) -> str:
        prog, plan = self.prog, self.plan
        threads, unroll = plan.threads, plan.unroll
        n = loop_size(prog, plan.loop) // VECTOR_LANES
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
        return self.finish(threads)

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
class BlockWriter(_Writer):
    """A kernel with a block per iteration of the outer global loops and its threads sharing the inner work."""

    def __init__(self, prog: LinearProgram, dialect: Dialect, shape: BlockShape):
        super().__init__(prog, dialect)
        self.outer, self.tree, self.threads, self.blocks = shape.outer, shape.tree, shape.threads, shape.blocks
        self.outer_starts = {x.start for x in shape.outer}
        self.n_flat = 0

    def source(self) -> str:
        self.put("const int bidx = blockIdx.x;")
        stride = self.blocks
        for x in self.outer:
            rng = self.prog.instrs[x.start].arg
            stride //= rng.size
            self.r.names[x.start] = rng.name
            self.put(f"const int {rng.name} = (bidx / {stride}) % {rng.size};")
        self.walk(self.tree, owned=False)
        return self.finish(self.threads)

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
        total = 1
        for x in chain:
            total *= loop_size(self.prog, x)
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
            for acc, op in reduce_updates(self.prog, loop):
                self.combine(acc, op)

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


__all__ = ["render_cuda", "BlockWriter"]
