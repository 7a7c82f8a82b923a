"""The register-tiled matmul template, one for every GPU language (CUDA C, OpenCL C, WGSL) through its KernelLanguage.

codegen/gpu.py matches the matmul (any strides, an optional batch loop, a fused epilogue) and chooses the tile
(ir/launch.py MatmulTile) and how each operand reaches local memory (TileCopy). Each work-group computes a BM x BN
output tile; each work-item a TM x TN register tile whose columns, 4-wide float4 vectors where B is contiguous
along n, interleave with its neighbours' (neighbouring work-items read neighbouring addresses), and whose rows
come in groups of `vec_m` interleaved the same way. The accumulators are separate variables, written out, so they
stay in registers. Where local memory is on-chip (GPUs; CUDA's shared memory), A and B tiles of BK steps go
through it between barriers, k-major (As[k][m], Bs[k][n]), copied 4 elements at a time along an operand's
contiguous dimension where alignment allows; where it is emulated in cached global memory (PoCL, lavapipe: CPUs),
each work-item reads global memory directly, which is faster there. Rows and columns past the matrix read a clamped
index and are never stored, so the loads need no branches; half and bfloat16 accumulate in float32 and round once.
CUDA's tensor-core loop is the one matmul kernel written apart (render/gpu/cuda_matmul.py).
"""
from __future__ import annotations

from baregrad.ir.launch import MatmulMatch, MatmulShape, MatmulTile, Operand, TileCopy
from baregrad.ir.linear import LinearProgram
from baregrad.render.gpu.lang import GROUP_ID, LOCAL_ID, KernelLanguage
from baregrad.render.gpu.matmul_parts import BATCH, bind_epilogue, epilogue_body, operand_index

LANES = ("x", "y", "z", "w")


def _group_row(t: MatmulTile, g: int) -> str:
    """First row of this work-item's g-th group of vec_m rows."""
    return f"ty + {g * t.ty}" if t.vec_m == 1 else f"(ty + {g * t.ty}) * {t.vec_m}"


def _row(t: MatmulTile, i: int) -> str:
    g, e = divmod(i, t.vec_m)
    return _group_row(t, g) + (f" + {e}" if e else "")


def _col(t: MatmulTile, j: int) -> str:
    """Column of this work-item's j-th load (a vector of `vec` columns)."""
    return f"(tx + {j * t.tx}) * {t.vec}"


def render(prog: LinearProgram, shape: MatmulShape, lang: KernelLanguage) -> str:
    """The kernel text of the planned tile."""
    mm, tile = shape.match, shape.tile
    M, N, K, B = mm.sizes
    lang.start(prog)
    w = _MatmulWriter(prog, mm, lang, tile)
    gn, gm = -(-N // tile.bn), -(-M // tile.bm)
    w.setup(gm, gn, direct=not shape.use_local)
    if shape.use_local:
        w.k_loop_local(shape.a_copy, shape.b_copy)
    else:
        w.k_loop_direct()
    w.epilogue()
    locals_ = [lang.local_array("As", lang.float_type, tile.bk * tile.lda, 16),
               lang.local_array("Bs", lang.float_type, tile.bk * tile.ldb, 16)]
    return lang.kernel(prog, tile.threads, locals_ if shape.use_local else [], w.lines)


class _MatmulWriter:
    def __init__(self, prog: LinearProgram, mm: MatmulMatch, lang: KernelLanguage, tile: MatmulTile):
        self.prog, self.mm, self.lang, self.t = prog, mm, lang, tile
        self.lines: list[str] = []

    def put(self, text: str, depth: int = 0) -> None:
        self.lines.append("  " * depth + text)

    def put_all(self, lines: list[str], depth: int) -> None:
        for x in lines:
            self.put(x, depth)

    def setup(self, gm: int, gn: int, direct: bool) -> None:
        lang, t = self.lang, self.t
        total = gm * gn * self.mm.sizes[3]
        if lang.extra_groups:  # only where needed: PoCL miscompiled this tile with a return before its barriers
            self.put(lang.if_open(f"{GROUP_ID} >= {total}") + " return; }")
        self.put(lang.let_int("tx", f"{LOCAL_ID} % {t.tx}"))
        self.put(lang.let_int("ty", f"{LOCAL_ID} / {t.tx}"))
        self.put(lang.let_int(BATCH, f"{GROUP_ID} / {gm * gn}"))
        self.put(lang.let_int("m0", f"(({GROUP_ID} / {gn}) % {gm}) * {t.bm}"))
        self.put(lang.let_int("n0", f"({GROUP_ID} % {gn}) * {t.bn}"))
        M, N = self.mm.sizes[0], self.mm.sizes[1]
        if direct:  # rows past the matrix read its last row and are never stored
            for i in range(t.tm):
                self.put(lang.let_int(f"am{i}", f"min(m0 + {_row(t, i)}, {M - 1})"))
            for j in range(t.tn // t.vec):
                self.put(lang.let_int(f"bn{j}", f"min(n0 + {_col(t, j)}, {N - t.vec})"))
        acc_type, zero = (lang.float4_type, lang.vec4()) if t.vec == 4 else (lang.float_type, "0.0f")
        for i in range(t.tm):
            for j in range(t.tn // t.vec):
                self.put(lang.var(f"acc{i}_{j}", acc_type, zero))

    def fma_block(self, a_values: list[str], b_values: list[str], depth: int) -> None:
        """acc += a x b for this work-item's tile, given expressions for its row values and column loads."""
        lang, t = self.lang, self.t
        b_type = lang.float4_type if t.vec == 4 else lang.float_type
        for i, a in enumerate(a_values):
            self.put(lang.let(f"av{i}", lang.float_type, a), depth)
        for j, b in enumerate(b_values):
            self.put(lang.let(f"bv{j}", b_type, b), depth)
        for i in range(t.tm):
            for j in range(t.tn // t.vec):
                acc = f"acc{i}_{j}"
                fma = lang.fma4(acc, f"av{i}", f"bv{j}") if t.vec == 4 else [f"{acc} = av{i} * bv{j} + {acc};"]
                self.put_all(fma, depth)

    def k_loop_direct(self) -> None:
        lang, mm, t = self.lang, self.mm, self.t
        self.put(lang.loop("k", "0", mm.sizes[2], 1))
        a = [lang.load(mm.a.param, operand_index(mm.a, f"am{i}", "k"), mm.dtype) for i in range(t.tm)]
        if t.vec == 4:
            b = [lang.load4(mm.b.param, operand_index(mm.b, f"bn{j}", "k")) for j in range(t.tn // 4)]
        else:
            b = [lang.load(mm.b.param, operand_index(mm.b, f"bn{j}", "k"), mm.dtype) for j in range(t.tn)]
        self.fma_block(a, b, 1)
        self.put("}")

    def k_loop_local(self, a_copy: TileCopy, b_copy: TileCopy) -> None:
        """BK k-steps of A and B staged in local memory (As[k][m], Bs[k][n], rows lda / ldb apart) between
        barriers; A's row groups and B's column vectors read as float4s."""
        lang, mm, t = self.lang, self.mm, self.t
        M, N, K = mm.sizes[0], mm.sizes[1], mm.sizes[2]
        self.put(lang.loop("k0", "0", K, t.bk))
        self.copy_tile("As", mm.a, a_copy, t.bm, t.lda, "m0", M)
        self.copy_tile("Bs", mm.b, b_copy, t.bn, t.ldb, "n0", N)
        self.put(lang.barrier(), 1)
        self.put_all(lang.unroll(), 1)
        self.put(lang.loop("kk", "0", t.bk, 1), 1)
        if t.vec_m == 4:
            for g in range(t.tm // 4):
                group = lang.local_load4("As", f"kk * {t.lda} + {_group_row(t, g)}")
                self.put(lang.let(f"ag{g}", lang.float4_type, group), 2)
            a = [f"ag{i // 4}.{LANES[i % 4]}" for i in range(t.tm)]
        else:
            a = [f"As[kk * {t.lda} + {_row(t, i)}]" for i in range(t.tm)]
        if t.vec == 4:
            b = [lang.local_load4("Bs", f"kk * {t.ldb} + {_col(t, j)}") for j in range(t.tn // 4)]
        else:
            b = [f"Bs[kk * {t.ldb} + {_col(t, j)}]" for j in range(t.tn)]
        self.fma_block(a, b, 2)
        self.put("}", 1)
        self.put(lang.barrier(), 1)
        self.put("}")

    def copy_tile(self, name: str, op: Operand, how: TileCopy, rows: int, ld: int, base: str, size: int) -> None:
        """Cooperative copy of rows x BK elements into local memory, `how.lanes` per load, neighbouring work-items
        along k or along the rows as `how` says; k past the matrix reads as 0, rows past it read a clamped row."""
        lang, t, mm = self.lang, self.t, self.mm
        K, lanes = mm.sizes[2], how.lanes
        chunks = rows * t.bk // lanes
        if chunks % t.threads == 0:  # a constant trip count: unrolled where the language asks
            self.put_all(lang.unroll(), 1)
            self.put(lang.loop("it", "0", chunks // t.threads, 1), 1)
            self.put(lang.let_int("c", f"{LOCAL_ID} + it * {t.threads}"), 2)
        else:
            self.put(lang.loop("c", LOCAL_ID, chunks, t.threads), 1)
        if how.along_k:
            across = t.bk // lanes
            self.put(lang.let_int("ck", f"(c % {across}) * {lanes}" if lanes > 1 else f"c % {across}"), 2)
            self.put(lang.let_int("cr", f"c / {across}"), 2)
        else:
            across = rows // lanes
            self.put(lang.let_int("ck", f"c / {across}"), 2)
            self.put(lang.let_int("cr", f"(c % {across}) * {lanes}" if lanes > 1 else f"c % {across}"), 2)
        k_past = K % t.bk != 0           # the last tile runs past the matrix along k
        row_past = size % rows != 0      # ... or along the rows
        gk = f"min(k0 + ck, {K - (lanes if how.along_k else 1)})" if k_past else "k0 + ck"
        gr = f"min({base} + cr, {size - (lanes if how is TileCopy.MN4 else 1)})" if row_past else f"{base} + cr"
        index = operand_index(op, gr, gk)
        value = lang.load4(op.param, index) if lanes == 4 else lang.load(op.param, index, mm.dtype)
        if k_past:
            value = lang.choose(f"k0 + ck < {K}", value, lang.vec4() if lanes == 4 else "0.0f")
        if lanes == 1:
            self.put(f"{name}[ck * {ld} + cr] = {value};", 2)
        else:
            self.put(lang.let("cv", lang.float4_type, value), 2)
            if how is TileCopy.K4:   # 4 k-steps of one row: stored transposed, one per k-major row
                for e in range(4):
                    self.put(f"{name}[(ck + {e}) * {ld} + cr] = cv.{LANES[e]};", 2)
            else:
                self.put_all(lang.local_store4(name, f"ck * {ld} + cr", "cv"), 2)
        self.put("}", 1)

    def epilogue(self) -> None:
        """Whatever the kernel computed after the reduce, once per output element this work-item holds."""
        lang, mm, t = self.lang, self.mm, self.t
        bind_epilogue(lang, mm)
        for i in range(t.tm):
            for j in range(t.tn // t.vec):
                for e in range(t.vec):
                    value = f"acc{i}_{j}.{LANES[e]}" if t.vec == 4 else f"acc{i}_{j}"
                    self.put("{")
                    self.put(lang.let_int("em", f"m0 + {_row(t, i)}"), 1)
                    self.put(lang.let_int("en", f"n0 + {_col(t, j)} + {e}"), 1)
                    self.put_all(epilogue_body(lang, self.prog, mm, value), 1)
                    self.put("}")


__all__ = ["render"]
