"""The CUDA toolkit as the CUDA and NV devices use it: where it is, which compiler to use, and the cubin build.

One place for the toolkit search (CUDA_PATH / CUDA_HOME, /usr/local/cuda and /usr/local/cuda-*, the nvidia-* pip
wheels), the choice between NVRTC (in-process, fast) and the toolkit's nvcc (when no libnvrtc loads), and the
cubin build through the on-disk compile cache that both devices share (same key: source, compiler, sm_XX).
Importing this module loads nothing; `compiler_found` is a file check for the device probes.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Protocol

from baregrad import config
from baregrad.errors import CompileError, DeviceError


class CubinCompiler(Protocol):
    version: str

    def compile(self, source: str, name: str, arch: str) -> bytes:
        ...


def toolkit_roots() -> list[str]:
    """CUDA toolkit folders, the explicitly configured ones first, then the newest installed."""
    return config.cuda_roots() + ["/usr/local/cuda"] + sorted(glob.glob("/usr/local/cuda-*"), reverse=True)


def toolkit_lib_dirs() -> list[str]:
    return [os.path.join(r, sub) for r in toolkit_roots() for sub in ("lib64", "lib", "targets/x86_64-linux/lib")]


def wheel_lib_dirs() -> list[str]:
    """The lib folders of nvidia-* pip wheels (nvidia-cuda-nvrtc and friends) on sys.path."""
    out = []
    for base in sys.path:
        out += sorted(glob.glob(os.path.join(base, "nvidia", "*", "lib")), reverse=True)
    return out


def find_nvcc() -> str | None:
    """nvcc on PATH, else in a toolkit folder."""
    found = shutil.which("nvcc")
    if found:
        return found
    return next((p for p in (os.path.join(r, "bin", "nvcc") for r in toolkit_roots()) if os.path.exists(p)), None)


def compiler_found() -> bool:
    """nvcc or a libnvrtc is installed (a file check; nothing is loaded or run)."""
    if find_nvcc():
        return True
    return any(glob.glob(os.path.join(d, "libnvrtc.so*")) for d in toolkit_lib_dirs() + wheel_lib_dirs())


class NvccCompiler:
    """The toolkit's nvcc, used when no libnvrtc loads."""

    def __init__(self) -> None:
        nvcc = find_nvcc()
        if nvcc is None:
            raise DeviceError("neither NVRTC nor nvcc found: pip install nvidia-cuda-nvrtc or set CUDA_PATH")
        self.nvcc = nvcc
        out = subprocess.run([self.nvcc, "--version"], capture_output=True, text=True, timeout=60).stdout
        self.version = "nvcc " + (out.strip().splitlines() or ["?"])[-1]

    def compile(self, source: str, name: str, arch: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, f"{name}.cu"), os.path.join(tmp, f"{name}.cubin")
            with open(src, "w") as f:
                f.write(source)
            r = subprocess.run([self.nvcc, "-cubin", f"-arch={arch}", "-o", out, src], capture_output=True, text=True,
                               timeout=300)
            if r.returncode != 0:
                raise CompileError(f"nvcc failed to compile {name} for {arch}:\n{r.stderr}")
            with open(out, "rb") as f:
                return f.read()


def kernel_compiler() -> Any:
    """NVRTC when libnvrtc loads (fast, in-process), else the toolkit's nvcc; both raise CompileError with the log.
    DeviceError when neither is there."""
    from baregrad.device.cuda_api import NVRTC
    try:
        return NVRTC()
    except DeviceError:
        return NvccCompiler()


def build_cubin(compiler: CubinCompiler, source: str, name: str, arch: str) -> bytes:
    """The cubin of `source` for sm_XX `arch`, from the on-disk cache or freshly compiled into it."""
    from baregrad.device.compile_cache import cache_key, cached_build
    key = cache_key(source, compiler.version, arch)

    def write(out: str) -> None:
        image = compiler.compile(source, name, arch)
        with open(out, "wb") as f:
            f.write(image)
    path = cached_build(key, ".cubin", write, target=arch)  # a cubin for another arch is rebuilt, never loaded
    with open(path, "rb") as f:
        return f.read()


__all__ = ["toolkit_roots", "toolkit_lib_dirs", "wheel_lib_dirs", "find_nvcc", "compiler_found", "NvccCompiler",
           "kernel_compiler", "build_cubin"]
