"""Device LLVM: LLVM IR (render/llvmir.py) JIT-compiled in process with llvmlite; no C compiler needed.

The target machine gets the host CPU's name and features and the O3 pipeline runs with loop and SLP
vectorization, so loops use the machine's vector width. Large kernels split the outermost global loop into
one chunk per core, run by a thread pool: the compiled functions are called through ctypes, which releases
the GIL, so the chunks run in parallel. Object code is kept in the on-disk compile cache.
"""
from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from baregrad.codegen.opt import KernelOptions
from baregrad.device import Device
from baregrad.device.compile_cache import cache_key, cached_build
from baregrad.device.host_memory import HostMemory
from baregrad.errors import CompileError, DeviceError
from baregrad.ir.launch import Kernel
from baregrad.ir.linear import L, LinearProgram, LoopKind
from baregrad.render.llvmir import render_llvm

try:
    import llvmlite
    import llvmlite.binding as llvm
except ImportError as e:  # an optional extra: say how to get it
    raise DeviceError("LLVM needs the llvmlite package: pip install llvmlite") from e

PARALLEL_WORK = 1 << 15  # below this many inner iterations a kernel runs on the calling thread


def _target_machine() -> Any:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, jit=True)


def _float_lanes(features: Any) -> int:
    """float32 lanes of the widest vector unit, for codegen's explicit SIMD tiles (matmul)."""
    return 16 if features.get("avx512f") else 8 if features.get("avx") else 4


class LLVMDevice(HostMemory, Device):
    name = "LLVM"

    def __init__(self) -> None:
        super().__init__()
        self.tm = _target_machine()
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.threads = os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="baregrad-llvm")
        self.lock = threading.Lock()  # MCJIT is not safe to add modules to from several threads
        self.loaded: dict[str, int] = {}  # symbol -> address of every kernel in the JIT
        self.kernel_options = KernelOptions(vector_width=_float_lanes(llvm.get_host_cpu_features()),
                                            strided_vectors=True)
        self.target_id = f"llvmlite {llvmlite.__version__} {llvm.get_host_cpu_name()} {self.tm.triple}"

    def find_peak(self) -> Any:
        from baregrad.device.peak import host_peak
        return host_peak()  # the same cores and memory as device CPU (measured with its compiler)

    # ---- compiler ----
    def render(self, prog: LinearProgram) -> Kernel:
        self.check_dtypes(prog)
        return Kernel(render_llvm(prog))

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        source = kernel.source
        # kernels of one name may differ; in one JIT each object needs symbols of its own
        symbol = f"{prog.name}_{cache_key(source)[:16]}"
        source = source.replace(f"define void @{prog.name}(", f"define void @{symbol}(", 1)
        key = cache_key(source, self.target_id)
        with self.lock:
            address = self.loaded.get(symbol) or self._load(key, source, symbol)
        cfunc = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * len(prog.params), ctypes.c_int32, ctypes.c_int32)(address)
        return _LLVMProgram(self, cfunc, prog)

    def _load(self, key: str, source: str, symbol: str) -> int:
        path = cached_build(key, ".o", lambda out: self._build(source, symbol, out), target=self.target_id)
        with open(path, "rb") as f:
            self.engine.add_object_file(llvm.ObjectFileRef.from_data(f.read()))
        self.engine.finalize_object()
        address = self.loaded[symbol] = self.engine.get_function_address(symbol)
        if not address:
            raise CompileError(f"LLVM: kernel {symbol} missing from its compiled object ({path})")
        return address

    def _build(self, source: str, name: str, out: str) -> None:
        try:
            module = llvm.parse_assembly(source)
            module.name = name
            module.verify()
        except RuntimeError as e:
            raise CompileError(f"LLVM IR of kernel {name} is invalid: {e}\n--- source ---\n{source}") from e
        module.triple, module.data_layout = self.tm.triple, str(self.tm.target_data)
        tuning = llvm.create_pipeline_tuning_options(speed_level=3)
        tuning.loop_vectorization = tuning.slp_vectorization = tuning.loop_unrolling = True
        builder = llvm.create_pass_builder(self.tm, tuning)
        builder.getModulePassManager().run(module, builder)
        with open(out, "wb") as f:
            f.write(self.tm.emit_object(module))


def _outer_global_size(prog: LinearProgram) -> int:
    return next((ins.arg.size for ins in prog.instrs if ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL), 1)


class _LLVMProgram:
    def __init__(self, device: LLVMDevice, cfunc: Any, prog: LinearProgram):
        self.device, self.cfunc = device, cfunc
        self.size = _outer_global_size(prog)
        parts = min(device.threads, self.size) if prog.work >= PARALLEL_WORK else 1
        step = -(-self.size // max(parts, 1))
        self.chunks = [(s, min(s + step, self.size)) for s in range(0, self.size, step)] or [(0, 0)]

    def __call__(self, *handles: Any) -> None:
        args = [ctypes.addressof(h) for h in handles]  # one handle per kernel parameter, in order
        if len(self.chunks) == 1:
            self.cfunc(*args, *self.chunks[0])
            return
        futures = [self.device.pool.submit(self.cfunc, *args, start, end) for start, end in self.chunks]
        for f in futures:
            f.result()
