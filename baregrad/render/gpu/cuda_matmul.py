"""CUDA's tensor-core matmul: the one matmul loop written for CUDA alone (the rest take the register tile every GPU
language shares, render/gpu/portable_matmul.py, CUDA's fp32 included).

A matmul lowers to global loops (batch?, m, n) around one SUM reduce over k of LOAD(a) * LOAD(b), with
indices affine in the loop variables (any strides, so x @ W.T matches too). For fp16 / bf16 (and fp32 with tf32
allowed) `render` emits a kernel computing a 128x128 output tile per block through shared memory: 8 warps, each a
64x32 tile of mma.sync tensor-core ops (shapes from codegen/tensor_cores.py), f32 accumulation, pipelined with
cp.async (render/gpu/tc_pipeline.py) when the plan says so. Global -> shared copies move 16 bytes at a time when a
stride of 1 and alignment allow it. Whatever the kernel computed after the reduce (bias, activation, casts) is
re-rendered per output element (render/gpu/matmul_parts.py), so fused epilogues keep working.
"""
from __future__ import annotations

from dataclasses import dataclass

from baregrad.ir.launch import CUDA_MATMUL_THREADS, CUDA_MATMUL_TILE, MatmulMatch, MatmulShape, Operand, TensorCore
from baregrad.ir.linear import LinearProgram
from baregrad.render.gpu import tc_pipeline as tcp
from baregrad.render.gpu.lang import CUDALanguage
from baregrad.render.gpu.matmul_parts import BATCH, bind_epilogue, epilogue_body, operand_index

THREADS = CUDA_MATMUL_THREADS
BM = BN = CUDA_MATMUL_TILE


@dataclass(frozen=True)
class _Tile:
    """Shared-memory tiles of the (not pipelined) tensor-core loop: [rows][bk + pad] of the input element type."""
    bk: int
    elem: str                # shared-memory element type
    itemsize: int

    @property
    def pad(self) -> int:
        return 16 // self.itemsize

    def smem_shape(self, rows: int) -> str:
        return f"[{rows}][{self.bk + self.pad}]"


def render(prog: LinearProgram, shape: MatmulShape, lang: CUDALanguage, dynamic_smem: bool = False) -> str:
    """The tensor-core kernel's CUDA C; `dynamic_smem`: the plan launches it with dynamic shared memory."""
    mm, tc = shape.match, shape.tensor_core
    if tc is None:
        raise ValueError(f"{prog.name}: the CUDA matmul template is for tensor cores; the plan has none")
    lang.start(prog)
    if shape.pipeline is not None:
        return _render_pipelined(prog, mm, tc, shape.pipeline, lang, dynamic_smem)
    tile = _Tile(32, lang.storage_type(mm.dtype), mm.dtype.itemsize)
    M, N, K, B = mm.sizes
    lines = [f"__shared__ __align__(16) {tile.elem} As{tile.smem_shape(BM)};",
             f"__shared__ __align__(16) {tile.elem} Bs{tile.smem_shape(BN)};",
             f"const int tid = threadIdx.x, {BATCH} = blockIdx.z;",
             f"const int m0 = blockIdx.y * {BM}, n0 = blockIdx.x * {BN};"]
    lines += _tc_setup(tc)
    lines.append(f"for (int k0 = 0; k0 < {K}; k0 += {tile.bk}) {{")
    lines += ["  " + x for x in _copy(lang.name(mm.a.param), mm.a, "As", "m0", M, K, BM, tile)]
    lines += ["  " + x for x in _copy(lang.name(mm.b.param), mm.b, "Bs", "n0", N, K, BN, tile)]
    lines.append("  __syncthreads();")
    lines += ["  " + x for x in _tc_step(tc, tile)]
    lines += ["  __syncthreads();", "}"]
    lines += _epilogue(prog, mm, lang)
    return _kernel(prog, lang, THREADS, _TF32_HELPER if tc.ptx_type == "tf32" else "", lines)


def _kernel(prog: LinearProgram, lang: CUDALanguage, threads: int, helpers: str, lines: list[str]) -> str:
    params = ", ".join(lang.r.param_decl(p) for p in prog.params)
    head = f"{lang.dialect.kernel_prefix} __launch_bounds__({threads}) {prog.name}({params}) {{"
    return "\n".join([lang.dialect.preamble, helpers, head, *("  " + x for x in lines), "}", ""])


def _pipeline_operand(lang: CUDALanguage, op: Operand, mn_size: int, k_size: int, mn0: str, rows: int
                      ) -> tcp.OperandCopy:
    ptr = f"((const unsigned short*){lang.name(op.param)} + {op.offset} + (long){op.s_b} * {BATCH})"
    return tcp.OperandCopy(ptr, op.s_k == 1, op.s_mn, op.s_k, mn_size, k_size, mn0, rows)


def _render_pipelined(prog: LinearProgram, mm: MatmulMatch, tc: TensorCore, cfg: tcp.TcConfig, lang: CUDALanguage,
                      dynamic_smem: bool) -> str:
    """The cp.async + ldmatrix kernel (render/gpu/tc_pipeline.py); the plan chose it because both operands move
    in aligned 16-byte chunks."""
    M, N, K, B = mm.sizes
    a = _pipeline_operand(lang, mm.a, M, K, "m0", cfg.bm)
    b = _pipeline_operand(lang, mm.b, N, K, "n0", cfg.bn)
    lines = [f"const int tid = threadIdx.x, {BATCH} = blockIdx.z;",
             f"const int m0 = blockIdx.y * {cfg.bm}, n0 = blockIdx.x * {cfg.bn};"]
    lines += tcp.declarations(cfg, a, b, dynamic_smem) + tcp.main_loop(cfg, a, b, tc.instruction, K)
    lines += _epilogue(prog, mm, lang, _WarpTile(cfg.warp_m, cfg.warp_n))
    return _kernel(prog, lang, cfg.threads, tcp.HELPERS, lines)


_TF32_HELPER = """#ifndef BAREGRAD_TF32
#define BAREGRAD_TF32
__device__ __forceinline__ unsigned to_tf32(float f) { unsigned u;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(f)); return u; }
#endif"""


def _copy(ptr: str, op: Operand, smem: str, mn0: str, mn_size: int, k_size: int, rows: int, tile: _Tile) -> list[str]:
    """Global -> shared copy of one operand tile ([rows][bk], raw input elements), zero outside the matrix."""
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
    src = f"{ptr} + {operand_index(op, 'gm', 'gk')}"
    inside = f"gm < {mn_size} && gk < {k_size}"
    if vec == 1:
        out.append(f"  {tile.elem} v = 0; if ({inside}) v = *({src});")
        out.append(f"  {smem}[mn][kk] = v;")
        return out + ["}"]
    out.append(f"  uint4 v = make_uint4(0u, 0u, 0u, 0u); if ({inside}) v = *(const uint4*)({src});")
    if contiguous == "k":
        out.append(f"  *(uint4*)&{smem}[mn][kk] = v;")
    else:   # contiguous along mn: each element to its own [mn] row
        out.append(f"  __align__(16) {tile.elem} tv[{vec}]; *(uint4*)tv = v;")
        out.append("  #pragma unroll")
        out.append(f"  for (int e = 0; e < {vec}; e++) {smem}[mn + e][kk] = tv[e];")
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


def _epilogue(prog: LinearProgram, mm: MatmulMatch, lang: CUDALanguage, warp: _WarpTile = _WarpTile()) -> list[str]:
    """Everything the kernel did after the reduce, once per output element this thread holds (mma.sync's
    accumulator layout: lane (g, t) holds rows g and g + 8, columns 2t and 2t + 1 of each 16 x 8 tile)."""
    bind_epilogue(lang, mm)
    loops = [f"for (int i = 0; i < {warp.mi}; i++)", f"for (int j = 0; j < {warp.ni}; j++)",
             "for (int h = 0; h < 4; h++)"]
    out = []
    for x in loops:
        out += ["#pragma unroll", x]
    out += ["{", f"  const int em = m0 + wm * {warp.rows} + i * 16 + g + (h >> 1) * 8;",
            f"  const int en = n0 + wn * {warp.cols} + j * 8 + 2 * t + (h & 1);"]
    return out + ["  " + x for x in epilogue_body(lang, prog, mm, "acc[i][j][h]")] + ["}"]
