"""The CUDA matmul template: a tiled kernel for a matmul codegen/gpu.py matched and planned (MatmulShape).

A matmul lowers to global loops (batch?, m, n) around one SUM reduce over k of LOAD(a) * LOAD(b), with
indices affine in the loop variables (any strides, so x @ W.T matches too). `render` emits a kernel computing
a 128x128 output tile per block through shared memory:
- fp16 / bf16 (and fp32 with tf32 allowed): 8 warps, each a 64x32 tile of mma.sync tensor-core ops
  (shapes from codegen/tensor_cores.py), f32 accumulation, pipelined with cp.async (render/gpu/tc_pipeline.py)
  when the plan says so;
- fp32: a SIMT kernel where each thread keeps an 8x8 register tile.
Global -> shared copies move 16 bytes at a time when a stride of 1 and alignment allow it. Whatever the
kernel computed after the reduce (bias, activation, casts) is re-rendered per output element, so fused
epilogues keep working.
"""
from __future__ import annotations

from dataclasses import dataclass

from baregrad.ir.launch import CUDA_MATMUL_THREADS, CUDA_MATMUL_TILE, MatmulMatch, MatmulShape, Operand, TensorCore
from baregrad.ir.linear import L, LinearProgram, LoopNode
from baregrad.render.cstyle import CRenderer, Dialect
from baregrad.render.gpu import tc_pipeline as tcp

THREADS = CUDA_MATMUL_THREADS
BM = BN = CUDA_MATMUL_TILE


# ---- rendering ----
@dataclass(frozen=True)
class _Tile:
    bk: int
    k_major_smem: bool       # smem holds [k][mn] (SIMT) rather than [mn][k] (tensor cores)
    elem: str                # shared-memory element type
    itemsize: int

    @property
    def pad(self) -> int:
        return 16 // self.itemsize

    def smem_shape(self, rows: int) -> str:
        return f"[{self.bk}][{rows + self.pad}]" if self.k_major_smem else f"[{rows}][{self.bk + self.pad}]"

    def at(self, name: str, mn: str, k: str) -> str:
        return f"{name}[{k}][{mn}]" if self.k_major_smem else f"{name}[{mn}][{k}]"


def render(prog: LinearProgram, shape: MatmulShape, dialect: Dialect, dynamic_smem: bool = False) -> str:
    """The kernel's CUDA C; `dynamic_smem`: the plan launches it with dynamic shared memory."""
    mm, tc = shape.match, shape.tensor_core
    r = CRenderer(dialect)
    r.names = {}
    for i, ins in enumerate(prog.instrs):
        if ins.op is L.PARAM:
            r.names[i] = f"p{ins.arg.index}"
        elif ins.op is L.CONST:
            r.names[i] = r.literal(ins.arg, ins.dtype)
    store_elem = r.storage_type(mm.dtype)
    if shape.pipeline is not None:
        return _render_pipelined(prog, mm, tc, shape.pipeline, r, dialect, dynamic_smem)
    tile = _Tile(32, False, store_elem, mm.dtype.itemsize) if tc else _Tile(8, True, "float", 4)
    M, N, K, B = mm.sizes
    lines = [f"__shared__ __align__(16) {tile.elem} As{tile.smem_shape(BM)};",
             f"__shared__ __align__(16) {tile.elem} Bs{tile.smem_shape(BN)};",
             "const int tid = threadIdx.x, bz = blockIdx.z;",
             f"const int m0 = blockIdx.y * {BM}, n0 = blockIdx.x * {BN};"]
    lines += _tc_setup(tc) if tc else _simt_setup()
    lines.append(f"for (int k0 = 0; k0 < {K}; k0 += {tile.bk}) {{")
    lines += ["  " + x for x in _copy(r.names[mm.a.param], mm.a, "As", "m0", M, K, BM, tile)]
    lines += ["  " + x for x in _copy(r.names[mm.b.param], mm.b, "Bs", "n0", N, K, BN, tile)]
    lines.append("  __syncthreads();")
    lines += ["  " + x for x in (_tc_step(tc, tile) if tc else _simt_step(tile))]
    lines += ["  __syncthreads();", "}"]
    lines += _epilogue(prog, mm, r, tc)
    params = ", ".join(r.param_decl(p) for p in prog.params)
    head = f"{dialect.kernel_prefix} __launch_bounds__({THREADS}) {prog.name}({params}) {{"
    return "\n".join([dialect.preamble, _TF32_HELPER if tc and tc.ptx_type == "tf32" else "", head,
                      *("  " + x for x in lines), "}", ""])


def _pipeline_operand(r: CRenderer, op: Operand, mn_size: int, k_size: int, mn0: str, rows: int
                      ) -> tcp.OperandCopy:
    ptr = f"((const unsigned short*){r.names[op.param]} + {op.offset} + (long){op.s_b} * bz)"
    return tcp.OperandCopy(ptr, op.s_k == 1, op.s_mn, op.s_k, mn_size, k_size, mn0, rows)


def _render_pipelined(prog: LinearProgram, mm: MatmulMatch, tc: TensorCore, cfg: tcp.TcConfig, r: CRenderer,
                      dialect: Dialect, dynamic_smem: bool) -> str:
    """The cp.async + ldmatrix kernel (render/gpu/tc_pipeline.py); the plan chose it because both operands move
    in aligned 16-byte chunks."""
    M, N, K, B = mm.sizes
    a = _pipeline_operand(r, mm.a, M, K, "m0", cfg.bm)
    b = _pipeline_operand(r, mm.b, N, K, "n0", cfg.bn)
    lines = ["const int tid = threadIdx.x, bz = blockIdx.z;",
             f"const int m0 = blockIdx.y * {cfg.bm}, n0 = blockIdx.x * {cfg.bn};"]
    lines += tcp.declarations(cfg, a, b, dynamic_smem) + tcp.main_loop(cfg, a, b, tc.instruction, K)
    lines += _epilogue(prog, mm, r, tc, _WarpTile(cfg.warp_m, cfg.warp_n))
    params = ", ".join(r.param_decl(p) for p in prog.params)
    head = f"{dialect.kernel_prefix} __launch_bounds__({cfg.threads}) {prog.name}({params}) {{"
    return "\n".join([dialect.preamble, tcp.HELPERS, head, *("  " + x for x in lines), "}", ""])


_TF32_HELPER = """#ifndef BAREGRAD_TF32
#define BAREGRAD_TF32
__device__ __forceinline__ unsigned to_tf32(float f) { unsigned u;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(f)); return u; }
#endif"""


def _copy(ptr: str, op: Operand, smem: str, mn0: str, mn_size: int, k_size: int, rows: int, tile: _Tile) -> list[str]:
    """Global -> shared copy of one operand tile (rows x bk), zero outside the matrix."""
    vec = 16 // tile.itemsize
    aligned = op.offset % vec == 0 and op.s_b % vec == 0
    if op.s_k == 1 and k_size % vec == 0 and op.s_mn % vec == 0 and aligned:
        contiguous, across = "k", tile.bk // vec
    elif op.s_mn == 1 and mn_size % vec == 0 and op.s_k % vec == 0 and aligned:
        contiguous, across = "mn", rows // vec
    else:
        contiguous, across, vec = "k", tile.bk, 1
    chunks = rows * tile.bk // vec
    out = ["#pragma unroll", f"for (int c = tid; c < {chunks}; c += {THREADS}) {{"]
    if contiguous == "k":
        out.append(f"  const int mn = c / {across}, kk = (c % {across}) * {vec};")
    else:
        out.append(f"  const int kk = c / {across}, mn = (c % {across}) * {vec};")
    out.append(f"  const int gm = {mn0} + mn, gk = k0 + kk;")
    src = f"{ptr} + {op.offset} + {op.s_b} * bz + gm * {op.s_mn} + gk * {op.s_k}"
    inside = f"gm < {mn_size} && gk < {k_size}"
    if vec == 1:
        out.append(f"  {tile.elem} v = 0; if ({inside}) v = *({src});")
        out.append(f"  {tile.at(smem, 'mn', 'kk')} = v;")
        return out + ["}"]
    out.append(f"  uint4 v = make_uint4(0u, 0u, 0u, 0u); if ({inside}) v = *(const uint4*)({src});")
    smem_contiguous = "mn" if tile.k_major_smem else "k"
    if contiguous == smem_contiguous:
        out.append(f"  *(uint4*)&{tile.at(smem, 'mn', 'kk')} = v;")
    else:
        lane = "mn + e, kk" if contiguous == "mn" else "mn, kk + e"
        mn_e, k_e = lane.split(", ")
        out.append(f"  __align__(16) {tile.elem} tv[{vec}]; *(uint4*)tv = v;")
        out.append("  #pragma unroll")
        out.append(f"  for (int e = 0; e < {vec}; e++) {tile.at(smem, mn_e, k_e)} = tv[e];")
    return out + ["}"]


# tensor cores: 8 warps as 2 (m) x 4 (n), each a 64 x 32 tile = 4 x 4 mma tiles of 16 x 8
_MI, _NI = 4, 4


def _tc_setup(tc: TensorCore) -> list[str]:
    return ["const int lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;",
            "const int g = lane >> 2, t = lane & 3;",
            f"float acc[{_MI}][{_NI}][4];",
            f"#pragma unroll\nfor (int i = 0; i < {_MI}; i++) for (int j = 0; j < {_NI}; j++) "
            "for (int h = 0; h < 4; h++) acc[i][j][h] = 0.0f;"]


def _tc_step(tc: TensorCore, tile: _Tile) -> list[str]:
    if tc.k == 16:   # two 16-bit elements per register: k = 2t, 2t+1 (and +8)
        a = ["*(const unsigned*)&As[r][kk + 2 * t]", "*(const unsigned*)&As[r + 8][kk + 2 * t]",
             "*(const unsigned*)&As[r][kk + 8 + 2 * t]", "*(const unsigned*)&As[r + 8][kk + 8 + 2 * t]"]
        b = ["*(const unsigned*)&Bs[n][kk + 2 * t]", "*(const unsigned*)&Bs[n][kk + 8 + 2 * t]"]
    else:            # tf32: one element per register: k = t (and +4)
        a = ["to_tf32(As[r][kk + t])", "to_tf32(As[r + 8][kk + t])", "to_tf32(As[r][kk + t + 4])",
             "to_tf32(As[r + 8][kk + t + 4])"]
        b = ["to_tf32(Bs[n][kk + t])", "to_tf32(Bs[n][kk + t + 4])"]
    mma = (f'asm volatile("{tc.instruction} {{%0,%1,%2,%3}}, {{%4,%5,%6,%7}}, {{%8,%9}}, {{%0,%1,%2,%3}};" '
           ': "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3]) '
           ': "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]), "r"(af[i][3]), "r"(bf[j][0]), "r"(bf[j][1]));')
    return ["#pragma unroll", f"for (int kk = 0; kk < {tile.bk}; kk += {tc.k}) {{",
            f"  unsigned af[{_MI}][4], bf[{_NI}][2];",
            "  #pragma unroll", f"  for (int i = 0; i < {_MI}; i++) {{",
            "    const int r = wm * 64 + i * 16 + g;",
            *(f"    af[i][{x}] = {e};" for x, e in enumerate(a)), "  }",
            "  #pragma unroll", f"  for (int j = 0; j < {_NI}; j++) {{",
            "    const int n = wn * 32 + j * 8 + g;",
            *(f"    bf[j][{x}] = {e};" for x, e in enumerate(b)), "  }",
            "  #pragma unroll", f"  for (int i = 0; i < {_MI}; i++)", "    #pragma unroll",
            f"    for (int j = 0; j < {_NI}; j++)", f"      {mma}", "}"]


# SIMT: 16 x 16 threads, each an 8 x 8 register tile at rows ty*4 + {0..3} and 64 + ty*4 + {0..3} (cols alike)
def _simt_setup() -> list[str]:
    return ["const int tx = tid & 15, ty = tid >> 4;", "float acc[8][8];",
            "#pragma unroll\nfor (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;"]


def _simt_step(tile: _Tile) -> list[str]:
    return ["#pragma unroll", f"for (int kk = 0; kk < {tile.bk}; kk++) {{",
            "  const float4 a0 = *(const float4*)&As[kk][ty * 4], a1 = *(const float4*)&As[kk][64 + ty * 4];",
            "  const float4 b0 = *(const float4*)&Bs[kk][tx * 4], b1 = *(const float4*)&Bs[kk][64 + tx * 4];",
            "  const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};",
            "  const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};",
            "  #pragma unroll", "  for (int i = 0; i < 8; i++)", "    #pragma unroll",
            "    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);", "}"]


@dataclass(frozen=True)
class _WarpTile:
    """Where a tensor-core warp's accumulators sit: warp (wm, wn) holds rows wm*rows + 16i, cols wn*cols + 8j."""
    rows: int = 64
    cols: int = 32

    @property
    def mi(self) -> int:   # 16-row mma tiles per warp
        return self.rows // 16

    @property
    def ni(self) -> int:   # 8-column mma tiles per warp
        return self.cols // 8


def _epilogue(prog: LinearProgram, mm: MatmulMatch, r: CRenderer, tc: TensorCore | None,
              warp: _WarpTile = _WarpTile()) -> list[str]:
    """Everything the kernel did after the reduce, once per output element this thread holds."""
    M, N = mm.sizes[0], mm.sizes[1]
    r.names[mm.m.start], r.names[mm.n.start], r.names[mm.acc] = "em", "en", "ev"
    if mm.batch is not None:
        r.names[mm.batch.start] = "bz"
    body = [r.statement(i, prog.instrs[i], prog) for i in epilogue_instrs(prog, mm)
            if prog.instrs[i].op not in (L.PARAM, L.CONST)]
    ev = r.round_result(mm.dtype, "{}")
    if tc:
        loops = [f"for (int i = 0; i < {warp.mi}; i++)", f"for (int j = 0; j < {warp.ni}; j++)",
                 "for (int h = 0; h < 4; h++)"]
        where = [f"const int em = m0 + wm * {warp.rows} + i * 16 + g + (h >> 1) * 8;",
                 f"const int en = n0 + wn * {warp.cols} + j * 8 + 2 * t + (h & 1);"]
        value = ev.format("acc[i][j][h]")
    else:
        loops = ["for (int i = 0; i < 8; i++)", "for (int j = 0; j < 8; j++)"]
        where = ["const int em = m0 + (i >> 2) * 64 + ty * 4 + (i & 3);",
                 "const int en = n0 + (j >> 2) * 64 + tx * 4 + (j & 3);"]
        value = ev.format("acc[i][j]")
    out = []
    for x in loops:
        out += ["#pragma unroll", x]
    out += ["{", *("  " + w for w in where), f"  if (em < {M} && en < {N}) {{", f"    float ev = {value};"]
    out += ["    " + x for x in body]
    return out + ["  }", "}"]


def epilogue_instrs(prog: LinearProgram, mm: MatmulMatch) -> list[int]:
    """The instructions after the reduce, in program order (the k loop and the accumulator left out)."""
    out: list[int] = []

    def walk(items: list) -> None:
        for x in items:
            if isinstance(x, LoopNode):
                if x is not mm.k:
                    walk(x.body)
            elif x != mm.acc:
                out.append(x)
    for g in mm.globals_[:1]:
        walk(g.body)
    return out
