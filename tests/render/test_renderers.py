"""Every renderer on a few real kernels: the source matches its golden file, and the language's compiler accepts it.

Golden files (tests/render/golden/, made by tests/render/golden_sources.py) make any change in generated code a
visible diff; the compile checks use cc for C, llvmlite for LLVM IR, Python's compile, nvcc for CUDA C, and the
OPENCL / WEBGPU devices' own compilers (pocl, naga) where they work here; otherwise they skip with the reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from baregrad.ir.launch import Kernel
from tests.render.golden_sources import LANGUAGES, golden_path, render
from tests.render.kernels import programs

PROGRAMS = programs()
NAMES = sorted(PROGRAMS)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("name", NAMES)
def test_source_matches_golden(language: str, name: str) -> None:
    with open(golden_path(language, name)) as f:
        expected = f.read()
    assert render(language, PROGRAMS[name]) == expected, \
        f"{language} source of {name} changed: rerun tests/render/golden_sources.py and review the diff"


def _body(language: str, name: str) -> str:
    text = render(language, PROGRAMS[name])
    return text.split("\n", 1)[1] if text.startswith("// plan:") else text


def test_c_compiles(tmp_path) -> None:
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler (cc) here")
    for name in NAMES:
        src = tmp_path / f"{name}.c"
        src.write_text(_body("c", name))
        r = subprocess.run([cc, "-fsyntax-only", "-Wall", "-Werror=implicit-function-declaration", str(src)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{name}: {r.stderr[-3000:]}"


def test_llvm_ir_parses_and_verifies() -> None:
    llvm = pytest.importorskip("llvmlite.binding")
    for name in NAMES:
        module = llvm.parse_assembly(_body("llvm", name))
        module.verify()
        assert module.get_function(name) is not None


def test_python_compiles() -> None:
    for name in NAMES:
        code = compile(_body("python", name), f"<{name}>", "exec")
        assert name in code.co_names


def test_cuda_compiles_with_nvcc(tmp_path) -> None:
    nvcc = shutil.which("nvcc") or next((p for p in ("/usr/local/cuda/bin/nvcc",) if os.path.exists(p)), None)
    if nvcc is None:
        pytest.skip("nvcc not found (install the CUDA toolkit or put nvcc on PATH)")
    unit = tmp_path / "all.cu"
    unit.write_text("\n".join(_body("cuda", name) for name in NAMES))
    fast = ["-Xcicc", "-O0", "-Xptxas", "-O0"]  # validity, not speed, is checked
    r = subprocess.run([nvcc, "-cubin", "-arch=sm_90", *fast, "-o", str(tmp_path / "all.cubin"), str(unit)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-6000:]


@pytest.mark.parametrize("backend", ["OPENCL", "WEBGPU"])
def test_portable_sources_compile_on_their_device(backend: str) -> None:
    from baregrad.device import get_device
    from baregrad.errors import DeviceError
    try:  # opened directly: lavapipe may work where the cheap probe finds no Vulkan ICD file
        dev = get_device(backend)
    except DeviceError as e:
        pytest.skip(f"{backend} does not work here: {e}")
    for name in NAMES:
        kernel = dev.render(PROGRAMS[name])
        assert isinstance(kernel, Kernel) and kernel.plan is not None
        dev.compile(kernel, PROGRAMS[name])  # raises CompileError with the compiler's log
