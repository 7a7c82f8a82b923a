"""How a GPU kernel spells its parts in CUDA C, OpenCL C and WGSL: one `KernelLanguage` per dialect.

render/gpu/writer.py writes the kernels codegen/gpu.py shapes (work-groups, local memory, barriers, cooperative
reductions, vector loads) through a `KernelLanguage`:
the per-instruction statements come from each language's renderer (render/cstyle.py's OpenCL dialect,
render/wgsl.py), and the few structural pieces (thread and group ids, loops, local arrays, barriers,
the kernel head) from the two small classes here.
"""
from __future__ import annotations

from baregrad import dtype as dt
from baregrad.ir.linear import L, LinearProgram
from baregrad.ir.ops import ReduceOp
from baregrad.render import wgsl
from baregrad.render.cstyle import CUDA_DIALECT, OPENCL_DIALECT, CRenderer, Dialect

LOCAL_ID = "tid"      # the work-item's index in its work-group (an int in both languages)
GROUP_ID = "bidx"     # the work-group's flat index


class KernelLanguage:
    """The structural spellings a portable kernel needs; subclasses bind one language. `vector_width`,
    `flat_threads` and `local_bytes` are what codegen/gpu.py's shaping needs to know (its LanguageFacts)."""
    vector_width = 0   # elements one vector load moves (0: the language has no vector loads from buffers)
    flat_threads = 0   # work-items per group of the language's FLAT kernels (0: shaping chooses)
    extra_groups = False  # its dispatch may start more groups than the plan asks (kernels must skip those)

    def local_bytes(self, d: dt.DType) -> int:
        """Bytes of local memory holding one compute value of dtype d."""
        return self.local_type(d)[1]

    def start(self, prog: LinearProgram) -> None:
        """Name the program's parameters and constants before any statement is written."""
        raise NotImplementedError

    def statement(self, i: int) -> list[str]:
        raise NotImplementedError

    def name(self, i: int) -> str:
        return self.names[i]

    def bind(self, i: int, name: str) -> None:
        self.names[i] = name

    def let_int(self, name: str, expr: str) -> str:
        raise NotImplementedError

    def loop(self, var: str, start: str, end: int | str, step: int | str) -> str:
        """The opening line of `for var in range(start, end, step)`; the caller closes it with '}'."""
        raise NotImplementedError

    def if_open(self, cond: str) -> str:
        return f"if ({cond}) {{"

    def barrier(self) -> str:
        raise NotImplementedError

    def local_array(self, name: str, elem: str, count: int, align: int = 0) -> str:
        """A local-memory array; `align`: bytes its start must be aligned to (for float4 reads of it)."""
        raise NotImplementedError

    def local_type(self, d: dt.DType) -> tuple[str, int]:
        """The element type (and its bytes) holding a compute value of dtype d in local memory."""
        raise NotImplementedError

    def to_local(self, expr: str, d: dt.DType) -> str:
        return expr

    def from_local(self, expr: str, d: dt.DType) -> str:
        return expr

    def combine(self, op: ReduceOp, a: str, b: str, d: dt.DType) -> str:
        """a op b for a reduce's accumulators, rounded to d as the UPDATE statement rounds."""
        raise NotImplementedError

    def load(self, param: int, index: str, d: dt.DType) -> str:
        """The compute value of element `index` of the PARAM instruction `param`."""
        raise NotImplementedError

    def load4(self, param: int, index: str) -> str:
        """4 consecutive float32 elements as one float4 value (index a multiple of 4)."""
        raise NotImplementedError

    def local_load4(self, name: str, index: str) -> str:
        """Elements index..index+3 of a local float array as one float4 (index a multiple of 4)."""
        raise NotImplementedError

    def local_store4(self, name: str, index: str, value: str) -> list[str]:
        """Store the float4 variable `value` at elements index..index+3 of a local float array."""
        raise NotImplementedError

    def fma4(self, acc: str, a: str, b: str) -> list[str]:
        """acc += a * b for a float4 accumulator, a float and a float4."""
        return [f"{acc} = {self.vec4(a)} * {b} + {acc};"]

    def unroll(self) -> list[str]:
        """Lines before a loop of constant trip count asking the compiler to unroll it (none where it decides)."""
        return []

    def round(self, d: dt.DType, expr: str) -> str:
        """A float computed in 32 bits rounded to d (half and bfloat16 round; other types pass)."""
        raise NotImplementedError

    def vec4(self, *lanes: str) -> str:
        """A float4 of 4 lanes, or every lane the one given, or zeros."""
        raise NotImplementedError

    def var(self, name: str, type_: str, init: str) -> str:
        """A mutable variable."""
        raise NotImplementedError

    def let(self, name: str, type_: str, expr: str) -> str:
        """An immutable value."""
        raise NotImplementedError

    def choose(self, cond: str, yes: str, no: str) -> str:
        raise NotImplementedError

    def kernel(self, prog: LinearProgram, threads: int, locals_: list[str], body: list[str]) -> str:
        """The whole kernel text; `body` may use LOCAL_ID and GROUP_ID."""
        raise NotImplementedError

    def block_combine(self, acc: int, op: ReduceOp, d: dt.DType, threads: int) -> tuple[dict[str, str], list[str]]:
        """Reduce accumulator `acc` across the work-group so every work-item holds the total: (local declarations
        by name, lines). Here a tree in local memory between barriers, written out (it adds no loop iterations)."""
        elem, _ = self.local_type(d)
        red = f"red_{elem}"
        name = self.name(acc)
        lines = [f"{red}[{LOCAL_ID}] = {self.to_local(name, d)};", self.barrier()]
        half = threads // 2
        while half:
            mine, other = self.from_local(f"{red}[{LOCAL_ID}]", d), self.from_local(f"{red}[{LOCAL_ID} + {half}]", d)
            step = self.to_local(self.combine(op, mine, other, d), d)
            lines += [self.if_open(f"{LOCAL_ID} < {half}") + f" {red}[{LOCAL_ID}] = {step}; }}", self.barrier()]
            half //= 2
        lines.append(f"{name} = {self.from_local(f'{red}[0]', d)};")
        lines.append(self.barrier())  # everyone has read the total before the scratch is reused
        return {red: self.local_array(red, elem, threads)}, lines


class CLanguage(KernelLanguage):
    """What CUDA C and OpenCL C spell alike: statements come from render/cstyle.py's CRenderer in one dialect."""
    float_type, float4_type = "float", "float4"

    def __init__(self, dialect: Dialect):
        self.dialect = dialect

    def start(self, prog: LinearProgram) -> None:
        self.prog, self.r = prog, CRenderer(self.dialect)
        self.r.names = self.names = {}
        for i, ins in enumerate(prog.instrs):
            if ins.op is L.PARAM:
                self.names[i] = f"p{ins.arg.index}"
            elif ins.op is L.CONST:
                self.names[i] = self.r.literal(ins.arg, ins.dtype)

    def statement(self, i: int) -> list[str]:
        return [self.r.statement(i, self.prog.instrs[i], self.prog)]

    def let_int(self, name: str, expr: str) -> str:
        return f"const int {name} = {expr};"

    def loop(self, var: str, start: str, end: int | str, step: int | str) -> str:
        return f"for (int {var} = {start}; {var} < {end}; {var} += {step}) {{"

    def local_type(self, d: dt.DType) -> tuple[str, int]:
        if d is dt.bool_:
            return "int", 4
        return CRenderer(self.dialect).compute_type(d), max(4, d.itemsize)

    def to_local(self, expr: str, d: dt.DType) -> str:
        return f"(int)({expr})" if d is dt.bool_ else expr

    def from_local(self, expr: str, d: dt.DType) -> str:
        return f"({expr} != 0)" if d is dt.bool_ else expr

    def combine(self, op: ReduceOp, a: str, b: str, d: dt.DType) -> str:
        return self.r.round_result(d, self.r.reduce_expr(op, a, b, d))

    def load(self, param: int, index: str, d: dt.DType) -> str:
        return self.r.from_storage(f"{self.names[param]}[{index}]", d)

    def storage_type(self, d: dt.DType) -> str:
        return self.r.storage_type(d)

    def compute_type(self, d: dt.DType) -> str:
        return self.r.compute_type(d)

    def from_storage(self, expr: str, d: dt.DType) -> str:
        return self.r.from_storage(expr, d)

    def to_storage(self, expr: str, d: dt.DType) -> str:
        return self.r.to_storage(expr, d)

    def round(self, d: dt.DType, expr: str) -> str:
        return self.r.round_result(d, expr)

    def vec4(self, *lanes: str) -> str:
        return f"(float4)({', '.join(lanes or ('0.0f',))})"

    def var(self, name: str, type_: str, init: str) -> str:
        return f"{type_} {name} = {init};"

    def let(self, name: str, type_: str, expr: str) -> str:
        return f"const {type_} {name} = {expr};"

    def choose(self, cond: str, yes: str, no: str) -> str:
        return f"(({cond}) ? {yes} : {no})"  # only the chosen side is evaluated



class OpenCLLanguage(CLanguage):
    vector_width = 4

    def __init__(self, dialect: Dialect = OPENCL_DIALECT):
        super().__init__(dialect)

    def barrier(self) -> str:
        return "barrier(CLK_LOCAL_MEM_FENCE);"

    def local_array(self, name: str, elem: str, count: int, align: int = 0) -> str:
        return f"__local {elem} {name}[{count}];"  # vload4 / vstore4 need only the element's alignment

    def local_load4(self, name: str, index: str) -> str:
        return f"vload4(0, {name} + ({index}))"

    def local_store4(self, name: str, index: str, value: str) -> list[str]:
        return [f"vstore4({value}, 0, {name} + ({index}));"]

    def vector_type(self, d: dt.DType) -> str:
        return f"{self.r.storage_type(d)}4"

    def load4(self, param: int, index: str) -> str:
        return f"vload4(0, {self.names[param]} + ({index}))"

    def vector_load(self, i: int, d: dt.DType, param: int) -> str:
        """Declare lv<i>: the 4 elements of work-item t."""
        return f"const {self.vector_type(d)} lv{i} = vload4(t, {self.names[param]});"

    def vector_lane(self, i: int, lane: int) -> str:
        return f"lv{i}.s{lane}"

    def vector_store(self, d: dt.DType, param: int, values: list[str]) -> str:
        return f"vstore4(({self.vector_type(d)})({', '.join(values)}), t, {self.names[param]});"

    def kernel(self, prog: LinearProgram, threads: int, locals_: list[str], body: list[str]) -> str:
        params = ", ".join(self.r.param_decl(p) for p in prog.params)
        head = (f"{self.dialect.kernel_prefix} __attribute__((reqd_work_group_size({threads}, 1, 1))) "
                f"{prog.name}({params}) {{")
        ids = [f"const int {LOCAL_ID} = (int)get_local_id(0);", f"const int {GROUP_ID} = (int)get_group_id(0);"]
        return "\n".join([self.dialect.preamble, head, *("  " + x for x in locals_ + ids + body), "}", ""])


_CUDA_MOVES = {4: "uint4", 2: "uint2", 1: "unsigned int"}  # by element size: the type moving 4 elements at once


class CUDALanguage(CLanguage):
    """CUDA C: warp shuffles in block reductions, VECTOR chunks moved as uint4 (several per thread)."""
    vector_width = 4
    warp = 32

    def __init__(self, dialect: Dialect = CUDA_DIALECT):
        super().__init__(dialect)

    def barrier(self) -> str:
        return "__syncthreads();"

    def local_array(self, name: str, elem: str, count: int, align: int = 0) -> str:
        aligned = f"__align__({align}) " if align else ""
        return f"__shared__ {aligned}{elem} {name}[{count}];"

    def load4(self, param: int, index: str) -> str:
        return f"*(const float4*)({self.names[param]} + ({index}))"

    def local_load4(self, name: str, index: str) -> str:
        return f"*(const float4*)&{name}[{index}]"

    def local_store4(self, name: str, index: str, value: str) -> list[str]:
        return [f"*(float4*)&{name}[{index}] = {value};"]

    def vec4(self, *lanes: str) -> str:
        lanes = lanes or ("0.0f",)
        return f"make_float4({', '.join(lanes * (4 // len(lanes)))})"

    def fma4(self, acc: str, a: str, b: str) -> list[str]:
        """CUDA's float4 has no arithmetic: one fmaf per lane."""
        return [f"{acc}.{x} = fmaf({a}, {b}.{x}, {acc}.{x});" for x in "xyzw"]

    def unroll(self) -> list[str]:
        return ["#pragma unroll"]

    def vector_move_type(self, d: dt.DType) -> str:
        return _CUDA_MOVES[d.itemsize]

    def kernel(self, prog: LinearProgram, threads: int, locals_: list[str], body: list[str]) -> str:
        params = ", ".join(self.r.param_decl(p) for p in prog.params)
        head = f"{self.dialect.kernel_prefix} __launch_bounds__({threads}) {prog.name}({params}) {{"
        ids = [f"const int {LOCAL_ID} = threadIdx.x;", f"const int {GROUP_ID} = blockIdx.x;"]
        return "\n".join([self.dialect.preamble, head, *("  " + x for x in ids + locals_ + body), "}", ""])

    def block_combine(self, acc: int, op: ReduceOp, d: dt.DType, threads: int) -> tuple[dict[str, str], list[str]]:
        """Warp shuffles, then one partial per warp through shared memory; every thread ends with the total."""
        ctype, name = self.r.compute_type(d), self.name(acc)
        small = d is dt.bool_ or (d.itemsize < 4 and not d.is_float)
        shfl = f"({ctype})__shfl_xor_sync(0xffffffffu, (int)w, o)" if small else "__shfl_xor_sync(0xffffffffu, w, o)"
        # every lane must reach each shuffle: take it into a variable before the (short-circuiting) combine
        step = self.combine(op, "w", "s", d)
        lines = ["{", f"  {ctype} w = {name};",
                 f"  for (int o = 16; o > 0; o >>= 1) {{ {ctype} s = {shfl}; w = {step}; }}"]
        warps = threads // self.warp
        if warps > 1:
            lines += [f"  __shared__ {ctype} red{acc}[{warps}];",
                      f"  if (({LOCAL_ID} & 31) == 0) red{acc}[{LOCAL_ID} >> 5] = w;", "  __syncthreads();",
                      f"  w = red{acc}[0];",
                      f"  for (int q = 1; q < {warps}; q++) w = {self.combine(op, 'w', f'red{acc}[q]', d)};",
                      "  __syncthreads();"]
        return {}, lines + [f"  {name} = w;", "}"]


class WGSLLanguage(KernelLanguage):
    float_type, float4_type = "f32", "vec4<f32>"
    flat_threads = wgsl.WORKGROUP  # render/wgsl.py's FLAT kernels declare this workgroup size
    extra_groups = True   # past 65535 groups the dispatch goes 2D and rounds up

    def start(self, prog: LinearProgram) -> None:
        self.prog, self.r = prog, wgsl.WGSLRenderer()
        self.r.prog = prog
        self.r.names = self.names = {}
        for i, ins in enumerate(prog.instrs):
            if ins.op is L.PARAM:
                self.names[i] = f"p{ins.arg.index}"
            elif ins.op is L.CONST:
                self.names[i] = wgsl.literal(ins.arg, ins.dtype)

    def statement(self, i: int) -> list[str]:
        return self.r.statement(i, self.prog.instrs[i])

    def let_int(self, name: str, expr: str) -> str:
        return f"let {name}: i32 = {expr};"

    def loop(self, var: str, start: str, end: int | str, step: int | str) -> str:
        return f"for (var {var}: i32 = {start}; {var} < {end}; {var} += {step}) {{"

    def barrier(self) -> str:
        return "workgroupBarrier();"

    def local_array(self, name: str, elem: str, count: int, align: int = 0) -> str:
        return f"var<workgroup> {name}: array<{elem}, {count}>;"

    def local_load4(self, name: str, index: str) -> str:
        return f"vec4<f32>({', '.join(f'{name}[({index}) + {e}]' for e in range(4))})"

    def local_store4(self, name: str, index: str, value: str) -> list[str]:
        return [f"{name}[({index}) + {e}] = {value}.{x};" for e, x in enumerate("xyzw")]

    def local_type(self, d: dt.DType) -> tuple[str, int]:
        return ("u32" if d is dt.bool_ else wgsl.compute_type(d)), 4

    def to_local(self, expr: str, d: dt.DType) -> str:
        return f"select(0u, 1u, {expr})" if d is dt.bool_ else expr

    def from_local(self, expr: str, d: dt.DType) -> str:
        return f"({expr} != 0u)" if d is dt.bool_ else expr

    def combine(self, op: ReduceOp, a: str, b: str, d: dt.DType) -> str:
        return wgsl.wrap(d, self.r.reduce(op, a, b, d))

    def load(self, param: int, index: str, d: dt.DType) -> str:
        return self.r.load(self.names[param], index, d)

    def load4(self, param: int, index: str) -> str:
        p = self.names[param]
        return f"vec4<f32>({', '.join(f'{p}[({index}) + {e}]' for e in range(4))})"

    def round(self, d: dt.DType, expr: str) -> str:
        return wgsl.wrap(d, expr)

    def vec4(self, *lanes: str) -> str:
        return f"vec4<f32>({', '.join(lanes or ('0.0f',))})"

    def var(self, name: str, type_: str, init: str) -> str:
        return f"var {name}: {type_} = {init};"

    def let(self, name: str, type_: str, expr: str) -> str:
        return f"let {name}: {type_} = {expr};"

    def choose(self, cond: str, yes: str, no: str) -> str:
        return f"select({no}, {yes}, {cond})"  # both sides are evaluated: WebGPU clamps out-of-bounds reads

    def kernel(self, prog: LinearProgram, threads: int, locals_: list[str], body: list[str]) -> str:
        decls = [self.r.binding(n, p) for n, p in enumerate(prog.params)]
        head = [f"@compute @workgroup_size({threads})",
                f"fn {prog.name}(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, "
                "@builtin(num_workgroups) nwg: vec3<u32>) {",
                f"  let {LOCAL_ID}: i32 = i32(lid);",
                f"  let {GROUP_ID}: i32 = i32(wid.x + wid.y * nwg.x);"]  # groups past 65535 spill into y
        return "\n".join([wgsl.PREAMBLE, *decls, *locals_, *head, *("  " + x for x in body), "}", ""])


__all__ = ["KernelLanguage", "CLanguage", "OpenCLLanguage", "CUDALanguage", "WGSLLanguage", "LOCAL_ID", "GROUP_ID"]
