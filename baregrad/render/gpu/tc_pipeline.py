"""The pipelined tensor-core main loop of the GPU matmul template (fp16 / bf16 inputs, f32 accumulation).

Global -> shared copies are asynchronous (`cp.async`, 16 bytes each, zero-filled outside the matrix) into a ring
of `stages` shared-memory buffers, so the loads of later k-tiles overlap the tensor-core work on the current one;
warps read their operand fragments with `ldmatrix` (`.trans` when an operand is stored with its m/n dimension
contiguous), which needs no per-element shuffling. Shared rows are padded by 16 bytes so that the eight row
addresses of one `ldmatrix` fall in distinct banks.

Only the main loop lives here; codegen/gpu.py matches the matmul and chooses this loop when every operand can be
copied in aligned 16-byte chunks; render/gpu/cuda_matmul.py writes the epilogue from the accumulator layout
described by `TcConfig` (ir/launch.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from baregrad.ir.launch import TC_CHUNK, TC_PAD, TcConfig

PAD, CHUNK = TC_PAD, TC_CHUNK


@dataclass(frozen=True)
class OperandCopy:
    """How one operand's k-tile is laid out: `k_contiguous` means rows of k ([mn][k]), else rows of mn ([k][mn])."""
    ptr: str            # expression of the operand's base pointer, offset and batch already applied
    k_contiguous: bool
    s_mn: int           # element strides in global memory
    s_k: int
    mn_size: int        # M or N
    k_size: int
    mn0: str            # first m (or n) of this block's tile
    rows_mn: int        # BM or BN

    def smem_row(self, bk: int) -> int:
        return (bk if self.k_contiguous else self.rows_mn) + PAD

    def stage_elems(self, bk: int) -> int:
        return (self.rows_mn if self.k_contiguous else bk) * self.smem_row(bk)


HELPERS = """#ifndef BAREGRAD_TC_PIPELINE
#define BAREGRAD_TC_PIPELINE
__device__ __forceinline__ void bg_cp_async16(void* dst, const void* src, bool valid) {
  unsigned s = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(s), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void bg_ldmatrix_x4(unsigned* r, const void* p) {
  unsigned s = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}
__device__ __forceinline__ void bg_ldmatrix_x4_trans(unsigned* r, const void* p) {
  unsigned s = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}
#endif"""


def declarations(cfg: TcConfig, a: OperandCopy, b: OperandCopy, dynamic: bool) -> list[str]:
    """Shared memory (static, or dynamic where the plan launches with dynamic shared memory) and the per-thread
    accumulators."""
    total = cfg.smem_bytes(a.k_contiguous, b.k_contiguous) // 2
    if not dynamic:
        decl = f"__shared__ __align__(128) unsigned short smem[{total}];"
    else:
        decl = "extern __shared__ __align__(128) unsigned short smem[];"
    return [decl,
            f"unsigned short* As = smem; unsigned short* Bs = smem + {cfg.stages * a.stage_elems(cfg.bk)};",
            f"const int lane = tid & 31, warp = tid >> 5, wm = warp / {cfg.warps_n}, wn = warp % {cfg.warps_n};",
            "const int g = lane >> 2, t = lane & 3;",
            f"float acc[{cfg.mi}][{cfg.ni}][4];",
            "#pragma unroll",
            f"for (int i = 0; i < {cfg.mi}; i++) for (int j = 0; j < {cfg.ni}; j++) "
            "for (int h = 0; h < 4; h++) acc[i][j][h] = 0.0f;"]


def _load_tile(cfg: TcConfig, op: OperandCopy, smem: str, stage: str, kt: str) -> list[str]:
    """cp.async of one operand's k-tile `kt` into ring slot `stage`, every thread a share of the 16-byte chunks."""
    rows, cols = (op.rows_mn, cfg.bk) if op.k_contiguous else (cfg.bk, op.rows_mn)
    per_row = cols // CHUNK
    chunks = rows * per_row
    if chunks % cfg.threads:
        raise ValueError(f"tile of {chunks} chunks does not split over {cfg.threads} threads")
    mn, k = ("r", "c") if op.k_contiguous else ("c", "r")
    out = ["#pragma unroll", f"for (int it = 0; it < {chunks // cfg.threads}; it++) {{",
           f"  const int ch = tid + it * {cfg.threads}, r = ch / {per_row}, c = (ch % {per_row}) * {CHUNK};",
           f"  const int gmn = {op.mn0} + {mn}, gk = ({kt}) * {cfg.bk} + {k};",
           f"  const bool ok = gmn < {op.mn_size} && gk < {op.k_size};",
           f"  const unsigned short* src = ok ? {op.ptr} + (long)gmn * {op.s_mn} + (long)gk * {op.s_k} : {op.ptr};",
           f"  bg_cp_async16({smem} + ({stage}) * {op.stage_elems(cfg.bk)} + r * {op.smem_row(cfg.bk)} + c, src, ok);",
           "}"]
    return out


def _fragments(cfg: TcConfig, a: OperandCopy, b: OperandCopy) -> list[str]:
    """ldmatrix of the A fragments (mi x 4 registers) and B fragments (ni x 2) for the k-step at `kk`."""
    out = [f"unsigned af[{cfg.mi}][4], bf[{cfg.ni}][2];", "const int q = lane >> 3, rr = lane & 7;"]
    if a.k_contiguous:   # [m][k]: lanes 0-15 address rows 0-15 at k, lanes 16-31 the same rows at k + 8
        addr_a = f"as + (wm * {cfg.warp_m} + i * 16 + (lane & 15)) * {a.smem_row(cfg.bk)} + kk + (lane >> 4) * 8"
        load_a = "bg_ldmatrix_x4"
    else:                # [k][m]: matrix q covers m + (q & 1) * 8, k + (q >> 1) * 8, stored transposed
        addr_a = f"as + (kk + (q >> 1) * 8 + rr) * {a.smem_row(cfg.bk)} + wm * {cfg.warp_m} + i * 16 + (q & 1) * 8"
        load_a = "bg_ldmatrix_x4_trans"
    if b.k_contiguous:   # [n][k]: matrix q covers n + (q >> 1) * 8, k + (q & 1) * 8
        addr_b = f"bs + (wn * {cfg.warp_n} + jp * 16 + (q >> 1) * 8 + rr) * {b.smem_row(cfg.bk)} + kk + (q & 1) * 8"
        load_b = "bg_ldmatrix_x4"
    else:                # [k][n]
        addr_b = f"bs + (kk + (q & 1) * 8 + rr) * {b.smem_row(cfg.bk)} + wn * {cfg.warp_n} + jp * 16 + (q >> 1) * 8"
        load_b = "bg_ldmatrix_x4_trans"
    out += ["#pragma unroll", f"for (int i = 0; i < {cfg.mi}; i++) {load_a}(af[i], {addr_a});",
            "#pragma unroll", f"for (int jp = 0; jp < {cfg.ni // 2}; jp++) {{",
            "  unsigned r4[4];", f"  {load_b}(r4, {addr_b});",
            "  bf[2 * jp][0] = r4[0]; bf[2 * jp][1] = r4[1]; bf[2 * jp + 1][0] = r4[2]; bf[2 * jp + 1][1] = r4[3];",
            "}"]
    return out


def main_loop(cfg: TcConfig, a: OperandCopy, b: OperandCopy, instruction: str, k_size: int) -> list[str]:
    """Prologue filling stages-1 ring slots, then per k-tile: wait, prefetch the tile stages-1 ahead, compute."""
    tiles = -(-k_size // cfg.bk)
    mma = (f'asm volatile("{instruction} {{%0,%1,%2,%3}}, {{%4,%5,%6,%7}}, {{%8,%9}}, {{%0,%1,%2,%3}};" '
           ': "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3]) '
           ': "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]), "r"(af[i][3]), "r"(bf[j][0]), "r"(bf[j][1]));')
    ahead = cfg.stages - 1
    out = ["#pragma unroll", f"for (int s = 0; s < {ahead}; s++) {{", f"  if (s < {tiles}) {{"]
    out += ["    " + x for x in _load_tile(cfg, a, "As", "s", "s") + _load_tile(cfg, b, "Bs", "s", "s")]
    out += ["  }", '  asm volatile("cp.async.commit_group;");', "}",
            f"for (int kt = 0; kt < {tiles}; kt++) {{",
            f'  asm volatile("cp.async.wait_group {ahead - 1};");',
            "  __syncthreads();",  # the tile is visible to all, and every warp is done with the slot refilled below
            f"  if (kt + {ahead} < {tiles}) {{"]
    nxt, slot = f"kt + {ahead}", f"(kt + {ahead}) % {cfg.stages}"
    out += ["    " + x for x in _load_tile(cfg, a, "As", slot, nxt) + _load_tile(cfg, b, "Bs", slot, nxt)]
    out += ["  }", '  asm volatile("cp.async.commit_group;");',
            f"  const unsigned short* as = As + (kt % {cfg.stages}) * {a.stage_elems(cfg.bk)};",
            f"  const unsigned short* bs = Bs + (kt % {cfg.stages}) * {b.stage_elems(cfg.bk)};",
            "  #pragma unroll", f"  for (int kk = 0; kk < {cfg.bk}; kk += 16) {{"]
    out += ["    " + x for x in _fragments(cfg, a, b)]
    out += ["    #pragma unroll", f"    for (int i = 0; i < {cfg.mi}; i++)", "      #pragma unroll",
            f"      for (int j = 0; j < {cfg.ni}; j++)", f"        {mma}", "  }", "}"]
    return out
