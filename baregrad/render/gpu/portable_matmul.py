"""The portable matmul template (OpenCL C, WGSL): a register-tiled kernel for a matmul codegen/gpu.py planned.

codegen/gpu.py matches the matmul (any strides, an optional batch loop, a fused epilogue) and chooses the tile
(ir/launch.py MatmulTile). Each work-group computes a BM x BN output tile; each work-item an TM x TN register tile
whose columns, 4-wide float4 vectors where B is contiguous along n, interleave with its neighbours' (neighbouring
work-items read neighbouring addresses). The accumulators are separate variables, written out, so they stay in
registers. Where local memory is on-chip (a GPU), A and B tiles of BK steps go through it between barriers; where
it is emulated in cached global memory (PoCL, lavapipe: CPUs), each work-item reads global memory directly, which
is faster there. Rows and columns past the matrix read a clamped index and are never stored, so the loads need no
branches; half and bfloat16 accumulate in float32 and round once, as on CUDA.
"""
from __future__ import annotations

from baregrad.ir.launch import MatmulMatch, MatmulShape, MatmulTile, Operand
from baregrad.ir.linear import L, LinearProgram
from baregrad.render.gpu.cuda_matmul import epilogue_instrs
from baregrad.render.gpu.lang import GROUP_ID, LOCAL_ID, KernelLanguage


def _row(t: MatmulTile, i: int) -> str:
    return f"ty + {i * t.ty}"


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
    w.setup(gm, gn)
    w.k_loop_local() if shape.use_local else w.k_loop_direct()
    w.epilogue()
    locals_ = [lang.local_array("As", lang.float_type, tile.bk * tile.bm),
               lang.local_array("Bs", lang.float_type, tile.bk * tile.bn)]
    return lang.kernel(prog, tile.threads, locals_ if shape.use_local else [], w.lines)


class _MatmulWriter:
    def __init__(self, prog: LinearProgram, mm: MatmulMatch, lang: KernelLanguage, tile: MatmulTile):
        self.prog, self.mm, self.lang, self.t = prog, mm, lang, tile
        self.lines: list[str] = []

    def put(self, text: str, depth: int = 0) -> None:
        self.lines.append("  " * depth + text)

    def setup(self, gm: int, gn: int) -> None:
        lang, t = self.lang, self.t
        total = gm * gn * self.mm.sizes[3]
        self.put(lang.if_open(f"{GROUP_ID} >= {total}") + " return; }")  # the dispatch may round up
        self.put(lang.let_int("tx", f"{LOCAL_ID} % {t.tx}"))
        self.put(lang.let_int("ty", f"{LOCAL_ID} / {t.tx}"))
        self.put(lang.let_int("bz", f"{GROUP_ID} / {gm * gn}"))
        self.put(lang.let_int("m0", f"(({GROUP_ID} / {gn}) % {gm}) * {t.bm}"))
        self.put(lang.let_int("n0", f"({GROUP_ID} % {gn}) * {t.bn}"))
        M, N = self.mm.sizes[0], self.mm.sizes[1]
        for i in range(t.tm):  # rows past the matrix read its last row and are never stored
            self.put(lang.let_int(f"am{i}", f"min(m0 + {_row(t, i)}, {M - 1})"))
        for j in range(t.tn // t.vec):
            self.put(lang.let_int(f"bn{j}", f"min(n0 + {_col(t, j)}, {N - t.vec})"))
        acc_type, zero = (lang.float4_type, lang.vec4()) if t.vec == 4 else (lang.float_type, "0.0f")
        for i in range(t.tm):
            for j in range(t.tn // t.vec):
                self.put(lang.var(f"acc{i}_{j}", acc_type, zero))

    def a_index(self, row: str, k: str) -> str:
        a = self.mm.a
        return f"{a.offset} + {a.s_b} * bz + ({row}) * {a.s_mn} + ({k}) * {a.s_k}"

    def b_index(self, col: str, k: str) -> str:
        b = self.mm.b
        return f"{b.offset} + {b.s_b} * bz + ({col}) * {b.s_mn} + ({k}) * {b.s_k}"

    def fma_block(self, a_value, b_value, depth: int) -> None:
        """acc += a x b for this work-item's tile, given expressions for its row values and column loads."""
        lang, t = self.lang, self.t
        b_type = lang.float4_type if t.vec == 4 else lang.float_type
        for i in range(t.tm):
            self.put(lang.let(f"av{i}", lang.float_type, a_value(i)), depth)
        for j in range(t.tn // t.vec):
            self.put(lang.let(f"bv{j}", b_type, b_value(j)), depth)
        for i in range(t.tm):
            a = lang.vec4(f"av{i}") if t.vec == 4 else f"av{i}"
            for j in range(t.tn // t.vec):
                self.put(f"acc{i}_{j} = {a} * bv{j} + acc{i}_{j};", depth)

    def k_loop_direct(self) -> None:
        lang, mm = self.lang, self.mm
        K = mm.sizes[2]
        self.put(lang.loop("k", "0", K, 1))
        a = lambda i: lang.load(mm.a.param, self.a_index(f"am{i}", "k"), mm.dtype)  # noqa: E731
        b = (lambda j: lang.load4(mm.b.param, self.b_index(f"bn{j}", "k"))) if self.t.vec == 4 else \
            (lambda j: lang.load(mm.b.param, self.b_index(f"bn{j}", "k"), mm.dtype))
        self.fma_block(a, b, 1)
        self.put("}")

    def k_loop_local(self) -> None:
        """BK k-steps of A and B staged in local memory (As[k][m], Bs[k][n]) between barriers."""
        lang, mm, t = self.lang, self.mm, self.t
        M, N, K = mm.sizes[0], mm.sizes[1], mm.sizes[2]
        self.put(lang.loop("k0", "0", K, t.bk))
        self.copy_tile("As", mm.a, t.bm, "m0", M, self.a_index)
        self.copy_tile("Bs", mm.b, t.bn, "n0", N, self.b_index)
        self.put(lang.barrier(), 1)
        self.put(lang.loop("kk", "0", t.bk, 1), 1)
        a = lambda i: f"As[kk * {t.bm} + {_row(t, i)}]"  # noqa: E731
        if t.vec == 4:
            b = lambda j: lang.vec4(", ".join(f"Bs[kk * {t.bn} + {_col(t, j)} + {e}]" for e in range(4)))  # noqa: E731
        else:
            b = lambda j: f"Bs[kk * {t.bn} + {_col(t, j)}]"  # noqa: E731
        self.fma_block(a, b, 2)
        self.put("}", 1)
        self.put(lang.barrier(), 1)
        self.put("}")

    def copy_tile(self, name: str, op: Operand, rows: int, base: str, size: int, index) -> None:
        """Cooperative copy of rows x BK elements into local memory; k past the matrix reads as 0."""
        lang, K = self.lang, self.mm.sizes[2]
        self.put(lang.loop("c", LOCAL_ID, rows * self.t.bk, self.t.threads), 1)
        self.put(lang.let_int("ck", f"c / {rows}"), 2)
        self.put(lang.let_int("cr", f"c % {rows}"), 2)
        self.put(lang.let_int("gk", f"min(k0 + ck, {K - 1})"), 2)
        load = lang.load(op.param, index(f"min({base} + cr, {size - 1})", "gk"), self.mm.dtype)
        self.put(f"{name}[c] = {lang.choose(f'k0 + ck < {K}', load, '0.0f')};", 2)
        self.put("}", 1)

    def epilogue(self) -> None:
        """Whatever the kernel computed after the reduce, once per output element this work-item holds."""
        lang, mm, t, prog = self.lang, self.mm, self.t, self.prog
        M, N = mm.sizes[0], mm.sizes[1]
        instrs = [i for i in epilogue_instrs(prog, mm) if prog.instrs[i].op not in (L.PARAM, L.CONST)]
        lang.bind(mm.m.start, "em")
        lang.bind(mm.n.start, "en")
        lang.bind(mm.acc, "ev")
        if mm.batch is not None:
            lang.bind(mm.batch.start, "bz")
        lanes = ("x", "y", "z", "w")
        for i in range(t.tm):
            for j in range(t.tn // t.vec):
                for e in range(t.vec):
                    value = f"acc{i}_{j}.{lanes[e]}" if t.vec == 4 else f"acc{i}_{j}"
                    self.put("{")
                    self.put(lang.let_int("em", f"m0 + {_row(t, i)}"), 1)
                    self.put(lang.let_int("en", f"n0 + {_col(t, j)} + {e}"), 1)
                    self.put(lang.if_open(f"em < {M} && en < {N}"), 1)
                    ev = lang.round(mm.dtype, value)
                    self.put(lang.let("ev", lang.float_type, ev), 2)
                    for k in instrs:
                        for line in lang.statement(k):
                            self.put(line, 2)
                    self.put("}", 1)
                    self.put("}")


__all__ = ["render"]
