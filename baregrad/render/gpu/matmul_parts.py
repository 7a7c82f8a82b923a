"""What both matmul templates share: operand indexing and the fused epilogue.

The register-tiled template (render/gpu/portable_matmul.py, every GPU language) and CUDA's tensor-core loop
(render/gpu/cuda_matmul.py) differ in how they multiply; they read operands through the strides codegen/gpu.py
matched (ir/launch.py Operand) and finish each output element the same way: whatever the kernel computed after the
reduce (bias, activation, casts, the store) re-rendered with the element's coordinates bound to `em`, `en`, `bz`.
"""
from __future__ import annotations

from baregrad.ir.launch import MatmulMatch, Operand
from baregrad.ir.linear import L, LinearProgram, LoopNode

BATCH = "bz"   # the name both templates give the batch index


def operand_index(op: Operand, mn: str, k: str) -> str:
    """The element index of operand `op` at row (m or n) `mn` and reduce step `k` of batch BATCH."""
    return f"{op.offset} + {op.s_b} * {BATCH} + ({mn}) * {op.s_mn} + ({k}) * {op.s_k}"


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


def bind_epilogue(lang, mm: MatmulMatch) -> None:
    """Name the output coordinates and the accumulator as the epilogue's statements read them (`lang`: a
    render/gpu/lang.py KernelLanguage, started on the program)."""
    lang.bind(mm.m.start, "em")
    lang.bind(mm.n.start, "en")
    lang.bind(mm.acc, "ev")
    if mm.batch is not None:
        lang.bind(mm.batch.start, BATCH)


def epilogue_body(lang, prog: LinearProgram, mm: MatmulMatch, value: str) -> list[str]:
    """One output element at (em, en): skipped outside the matrix, else `value` (the float32 accumulator) rounded
    to the matmul's dtype as `ev`, then the kernel's statements after the reduce. Call bind_epilogue first."""
    M, N = mm.sizes[0], mm.sizes[1]
    lines = [lang.if_open(f"em < {M} && en < {N}"), "  " + lang.let("ev", lang.float_type, lang.round(mm.dtype, value))]
    for i in epilogue_instrs(prog, mm):
        if prog.instrs[i].op not in (L.PARAM, L.CONST):
            lines += ["  " + x for x in lang.statement(i)]
    return lines + ["}"]


__all__ = ["BATCH", "operand_index", "epilogue_instrs", "bind_epilogue", "epilogue_body"]
