"""Device CPU: C source compiled by the system compiler (CC, default cc), loaded with ctypes, OpenMP threads."""
from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from typing import Any, Callable

from baregrad import config
from baregrad.codegen.opt import KernelOptions
from baregrad.device import Device
from baregrad.device.compile_cache import cache_key, cached_build
from baregrad.device.host_memory import HostMemory
from baregrad.errors import CompileError, DeviceError
from baregrad.ir.launch import Kernel
from baregrad.ir.linear import LinearProgram
from baregrad.render.cstyle import C_DIALECT, CRenderer

FLAGS = ["-O2", "-march=native", "-ftree-vectorize", "-fvect-cost-model=dynamic", "-fno-math-errno", "-fwrapv", "-fPIC",
         "-shared", "-fopenmp"]


class CPUDevice(HostMemory, Device):
    name = "CPU"
    compile_workers = os.cpu_count() or 1  # each kernel is its own `cc` process

    def __init__(self) -> None:
        super().__init__()
        self.cc = config.c_compiler()
        self.renderer = CRenderer(C_DIALECT)
        try:
            version = subprocess.run([self.cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DeviceError(f"CPU device needs a C compiler; running {self.cc!r} failed: {e}") from e
        self.compiler_id = version.splitlines()[0] if version else self.cc
        self.kernel_options = KernelOptions(vector_width=_simd_float_lanes(), vector_epilogues=True,
                                            strided_vectors=True)
        self.target_id = _host_cpu_identity()  # -march=native binaries run only on this kind of CPU

    def find_peak(self) -> Any:
        from baregrad.device.peak import host_peak
        return host_peak()

    def address(self, handle: Any) -> int:
        return ctypes.addressof(handle)

    def render(self, prog: LinearProgram) -> Kernel:
        return Kernel(self.renderer.render(prog))

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        lib = self.load_library(kernel.source)
        fn = getattr(lib, prog.name)
        fn.argtypes = [ctypes.c_void_p] * len(prog.params)
        fn.restype = None
        return _CPUProgram(fn, lib)

    def load_library(self, source: str) -> ctypes.CDLL:
        """C source compiled with the kernel flags (through the on-disk cache) and loaded: also used for the
        hand-written kernels of models/cpu_quant.py."""
        key = cache_key(source, self.compiler_id, " ".join(FLAGS), self.target_id)
        path = cached_build(key, ".so", lambda out: self._build(source, out), target=self.target_id)
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            raise CompileError(f"could not load compiled kernel {path}: {e}") from e

    def _build(self, source: str, out: str) -> None:
        src_path = out + ".c"
        with open(src_path, "w") as f:
            f.write(source)
        try:
            result = subprocess.run([self.cc, *FLAGS, src_path, "-o", out, "-lm"], capture_output=True, text=True,
                                    timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CompileError(f"C compiler {self.cc!r} failed to run on {src_path}: {e}") from e
        if result.returncode != 0:
            raise CompileError(f"C compile failed for {src_path}:\n{result.stderr}")
        os.unlink(src_path)


def _simd_float_lanes() -> int:
    """float32 lanes of this CPU's widest comfortable vectors (AVX2: 8), read from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return 4
    if " avx512f" in flags and " avx512vl" in flags:
        return 16
    return 8 if " avx2" in flags else 4


def _host_cpu_identity() -> str:
    """This CPU's model and feature flags (hashed), read from /proc/cpuinfo: the target of -march=native."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features", "CPU part"))]
    except OSError:
        lines = []
    return "cpu-" + hashlib.sha256("".join(sorted(set(lines))).encode()).hexdigest()[:16]


class _CPUProgram:
    def __init__(self, fn: Any, lib: Any):
        self.fn, self.lib = fn, lib

    def __call__(self, *handles: Any) -> None:
        # the handles are ctypes arrays: the c_void_p argtypes pass their addresses (no addressof per argument)
        self.fn(*handles)
