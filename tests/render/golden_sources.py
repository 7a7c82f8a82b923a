"""Render tests/render/kernels.py's programs in every language; `python -m tests.render.golden_sources` rewrites
tests/render/golden/ (review the diff: a change there is a change in every kernel of that shape)."""
from __future__ import annotations

import os

from baregrad.codegen import gpu
from baregrad.ir.launch import GPUPlan
from baregrad.ir.linear import LinearProgram
from baregrad.render.cstyle import C_DIALECT, OPENCL_DIALECT, CRenderer
from baregrad.render.gpu.lang import OpenCLLanguage, WGSLLanguage
from baregrad.render.gpu.writer import render_cuda, render_gpu
from baregrad.render.llvmir import render_llvm
from baregrad.render.python import render_python
from baregrad.render.wgsl import render_wgsl

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
LANGUAGES = {"c": ".c", "llvm": ".ll", "python": ".py.txt", "cuda": ".cu", "opencl": ".cl", "wgsl": ".wgsl"}
CUDA_TARGET = gpu.GPUTarget(90, 132)
PORTABLE_TARGET = gpu.GPUTarget(sms=16, max_threads=256, local_bytes=32768, local_is_fast=True)


def plan_text(plan: GPUPlan) -> str:
    return f"// plan: {plan.strategy.value} " + " ".join(
        f"{x.name} grid={x.grid} block={x.block} smem={x.smem}" for x in plan.launches) + "\n"


def render(language: str, prog: LinearProgram) -> str:
    """The source in `language`; GPU sources start with one line describing their plan (for the golden file)."""
    if language == "c":
        return CRenderer(C_DIALECT).render(prog)
    if language == "llvm":
        return render_llvm(prog)
    if language == "python":
        return render_python(prog)
    if language == "cuda":
        plan = gpu.plan(prog, CUDA_TARGET)
        return plan_text(plan) + render_cuda(prog, plan)
    lang = OpenCLLanguage(OPENCL_DIALECT) if language == "opencl" else WGSLLanguage()
    flat = CRenderer(OPENCL_DIALECT).render if language == "opencl" else render_wgsl
    plan = gpu.plan(prog, PORTABLE_TARGET, lang)
    return plan_text(plan) + render_gpu(prog, plan, lang, flat)


def golden_path(language: str, name: str) -> str:
    return os.path.join(GOLDEN, language, name + LANGUAGES[language])


def main() -> None:
    from tests.render.kernels import programs
    for name, prog in programs().items():
        for language in LANGUAGES:
            os.makedirs(os.path.dirname(golden_path(language, name)), exist_ok=True)
            with open(golden_path(language, name), "w") as f:
                f.write(render(language, prog))


if __name__ == "__main__":
    main()
