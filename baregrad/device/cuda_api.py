"""ctypes bindings to the CUDA driver (libcuda) and NVRTC (libnvrtc), both found at run time.

Only the calls the CUDA device needs are bound. Libraries are searched in: CUDA_PATH / CUDA_HOME, the
system loader (ldconfig, ctypes.util.find_library), the driver's usual folders, and the lib folders of
pip's nvidia-* wheels (nvidia/cu13/lib, nvidia/cuda_nvrtc/lib). Every failing call raises DeviceError
with the function name and CUDA's own error name.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import Any

from baregrad.device import nvcc
from baregrad.errors import CompileError, DeviceError, OutOfMemoryError

CUDA_SUCCESS = 0
CUDA_ERROR_OUT_OF_MEMORY = 2
CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76
CU_STREAM_NON_BLOCKING = 1
CU_STREAM_CAPTURE_MODE_RELAXED = 2
CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8

_DRIVER_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib",
                "/usr/lib/aarch64-linux-gnu"]


def _load(stem: str, dirs: list[str]) -> ctypes.CDLL:
    """Load lib<stem>: first by explicit folders, then by the system loader. Raises OSError listing the tries."""
    tried = []
    for folder in dirs:
        for path in sorted(glob.glob(os.path.join(folder, f"lib{stem}.so*")), key=len):
            try:
                return ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path}: {e}")
    for name in (f"lib{stem}.so.1", f"lib{stem}.so", ctypes.util.find_library(stem)):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError as e:
                tried.append(f"{name}: {e}")
    raise OSError(f"lib{stem} not found (tried {len(tried)} candidates; set CUDA_PATH)")


class Driver:
    """The libcuda calls, each checked. Create once per process."""

    def __init__(self) -> None:
        try:
            self.lib = _load("cuda", _DRIVER_DIRS)
        except OSError as e:
            raise DeviceError(f"CUDA driver library not usable: {e}") from e
        self.check("cuInit", 0)

    def fn(self, *names: str) -> Any:
        """The first of `names` the library exports (versioned names first)."""
        for name in names:
            f = getattr(self.lib, name, None)
            if f is not None:
                return f
        raise DeviceError(f"libcuda lacks {names[0]} (driver too old?)")

    def check(self, name: str, *args: Any, alias: tuple[str, ...] = ()) -> None:
        rc = self.fn(*alias, name)(*args)
        if rc != CUDA_SUCCESS:
            raise DeviceError(f"{name} failed: {self.error_name(rc)}") from None

    def error_name(self, rc: int) -> str:
        text = ctypes.c_char_p()
        if self.lib.cuGetErrorName(rc, ctypes.byref(text)) == 0 and text.value:
            return f"{text.value.decode()} ({rc})"
        return f"CUDA error {rc}"

    # ---- devices and contexts ----
    def device_count(self) -> int:
        n = ctypes.c_int()
        self.check("cuDeviceGetCount", ctypes.byref(n))
        return n.value

    def device(self, ordinal: int) -> int:
        dev = ctypes.c_int()
        self.check("cuDeviceGet", ctypes.byref(dev), ordinal)
        return dev.value

    def attribute(self, dev: int, attr: int) -> int:
        out = ctypes.c_int()
        self.check("cuDeviceGetAttribute", ctypes.byref(out), attr, dev)
        return out.value

    def device_name(self, dev: int) -> str:
        buf = ctypes.create_string_buffer(256)
        self.check("cuDeviceGetName", buf, 256, dev)
        return buf.value.decode(errors="replace")

    def primary_context(self, dev: int) -> int:
        """The device's primary context (shared with other libraries in this process, e.g. torch), made current."""
        ctx = ctypes.c_void_p()
        self.check("cuDevicePrimaryCtxRetain", ctypes.byref(ctx), dev)
        self.check("cuCtxSetCurrent", ctx)
        return ctx.value or 0

    def set_current(self, ctx: int) -> None:
        self.check("cuCtxSetCurrent", ctypes.c_void_p(ctx))

    # ---- memory ----
    def mem_alloc(self, nbytes: int) -> int:
        ptr = ctypes.c_uint64()
        rc = self.fn("cuMemAlloc_v2")(ctypes.byref(ptr), ctypes.c_size_t(max(nbytes, 1)))
        if rc == CUDA_ERROR_OUT_OF_MEMORY:
            raise OutOfMemoryError(f"cuMemAlloc: {self.error_name(rc)}")
        if rc != CUDA_SUCCESS:
            raise DeviceError(f"cuMemAlloc of {nbytes} bytes failed: {self.error_name(rc)}")
        return ptr.value

    def mem_free(self, ptr: int) -> None:
        self.check("cuMemFree_v2", ctypes.c_uint64(ptr))

    def mem_info(self) -> tuple[int, int]:
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        self.check("cuMemGetInfo_v2", ctypes.byref(free), ctypes.byref(total))
        return free.value, total.value

    def htod(self, dst: int, src: Any, nbytes: int, stream: int) -> None:
        self.check("cuMemcpyHtoDAsync_v2", ctypes.c_uint64(dst), src, ctypes.c_size_t(nbytes), ctypes.c_void_p(stream))

    def dtoh(self, dst: Any, src: int, nbytes: int, stream: int) -> None:
        self.check("cuMemcpyDtoHAsync_v2", dst, ctypes.c_uint64(src), ctypes.c_size_t(nbytes), ctypes.c_void_p(stream))

    def dtod(self, dst: int, src: int, nbytes: int, stream: int) -> None:
        self.check("cuMemcpyDtoDAsync_v2", ctypes.c_uint64(dst), ctypes.c_uint64(src), ctypes.c_size_t(nbytes),
                   ctypes.c_void_p(stream))

    # ---- modules and launches ----
    def module_load(self, image: bytes) -> int:
        mod = ctypes.c_void_p()
        self.check("cuModuleLoadData", ctypes.byref(mod), ctypes.c_char_p(image))
        return mod.value or 0

    def module_unload(self, mod: int) -> None:
        self.check("cuModuleUnload", ctypes.c_void_p(mod))

    def function(self, mod: int, name: str) -> int:
        fn = ctypes.c_void_p()
        self.check("cuModuleGetFunction", ctypes.byref(fn), ctypes.c_void_p(mod), name.encode())
        return fn.value or 0

    def set_max_dynamic_smem(self, fn: int, nbytes: int) -> None:
        self.check("cuFuncSetAttribute", ctypes.c_void_p(fn), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, nbytes)

    def launch(self, fn: int, grid: tuple[int, int, int], block: tuple[int, int, int], smem: int, stream: int,
               params: Any) -> int:
        """cuLaunchKernel; returns CUDA's status (the caller names the kernel in its error)."""
        return self.lib.cuLaunchKernel(*self.launch_arguments(fn, grid, block, smem, stream, params))

    @staticmethod
    def launch_arguments(fn: int, grid: tuple[int, int, int], block: tuple[int, int, int], smem: int, stream: int,
                         params: Any) -> tuple:
        """cuLaunchKernel's arguments, built once for a launch repeated with the same kernelParams arrays."""
        return (ctypes.c_void_p(fn), *grid, *block, smem, ctypes.c_void_p(stream), params, None)

    def launch_prepared(self, arguments: tuple) -> int:
        """cuLaunchKernel with arguments from launch_arguments; returns CUDA's status."""
        return self.lib.cuLaunchKernel(*arguments)

    # ---- streams, events, graphs ----
    def stream_create(self) -> int:
        s = ctypes.c_void_p()
        self.check("cuStreamCreate", ctypes.byref(s), CU_STREAM_NON_BLOCKING)
        return s.value or 0

    def stream_sync(self, stream: int) -> None:
        self.check("cuStreamSynchronize", ctypes.c_void_p(stream))

    def event_create(self) -> int:
        e = ctypes.c_void_p()
        self.check("cuEventCreate", ctypes.byref(e), 0)
        return e.value or 0

    def event_record(self, event: int, stream: int) -> None:
        self.check("cuEventRecord", ctypes.c_void_p(event), ctypes.c_void_p(stream))

    def event_sync(self, event: int) -> None:
        self.check("cuEventSynchronize", ctypes.c_void_p(event))

    def event_elapsed_ms(self, start: int, end: int) -> float:
        ms = ctypes.c_float()
        self.check("cuEventElapsedTime", ctypes.byref(ms), ctypes.c_void_p(start), ctypes.c_void_p(end),
                   alias=("cuEventElapsedTime_v2",))
        return ms.value

    def event_destroy(self, event: int) -> None:
        self.check("cuEventDestroy", ctypes.c_void_p(event), alias=("cuEventDestroy_v2",))

    def begin_capture(self, stream: int) -> None:
        self.check("cuStreamBeginCapture_v2", ctypes.c_void_p(stream), CU_STREAM_CAPTURE_MODE_RELAXED)

    def end_capture(self, stream: int) -> int:
        graph = ctypes.c_void_p()
        self.check("cuStreamEndCapture", ctypes.c_void_p(stream), ctypes.byref(graph))
        return graph.value or 0

    def graph_instantiate(self, graph: int) -> int:
        exe = ctypes.c_void_p()
        self.check("cuGraphInstantiateWithFlags", ctypes.byref(exe), ctypes.c_void_p(graph), ctypes.c_ulonglong(0))
        return exe.value or 0

    def graph_launch(self, exe: int, stream: int) -> None:
        self.check("cuGraphLaunch", ctypes.c_void_p(exe), ctypes.c_void_p(stream))

    def graph_destroy(self, graph: int, exe: int) -> None:
        self.check("cuGraphExecDestroy", ctypes.c_void_p(exe))
        self.check("cuGraphDestroy", ctypes.c_void_p(graph))


def probe() -> str | None:
    """Why CUDA cannot work here (None: a device was found). Loads libcuda but compiles nothing."""
    try:
        drv = Driver()
        if drv.device_count() == 0:
            return "libcuda found but no CUDA device"
    except DeviceError as e:
        return str(e)
    return None


class NVRTC:
    """CUDA C -> cubin for one sm_XX, with the compiler log in CompileError."""

    def __init__(self) -> None:
        try:
            self.lib = _load("nvrtc", nvcc.toolkit_lib_dirs() + nvcc.wheel_lib_dirs())
        except OSError as e:
            raise DeviceError(f"NVRTC not usable: {e} (pip install nvidia-cuda-nvrtc, or set CUDA_PATH)") from e
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        self.version = f"nvrtc {major.value}.{minor.value}"
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def compile(self, source: str, name: str, arch: str, options: tuple[str, ...] = ()) -> bytes:
        prog = ctypes.c_void_p()
        self._check(self.lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), f"{name}.cu".encode(), 0, None,
                                                None), "nvrtcCreateProgram")
        try:
            opts = [f"--gpu-architecture={arch}", "--std=c++17", *options]
            argv = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
            rc = self.lib.nvrtcCompileProgram(prog, len(opts), argv)
            if rc != 0:
                raise CompileError(f"NVRTC failed to compile {name} for {arch}:\n{self._log(prog)}")
            size = ctypes.c_size_t()
            self._check(self.lib.nvrtcGetCUBINSize(prog, ctypes.byref(size)), "nvrtcGetCUBINSize")
            image = ctypes.create_string_buffer(size.value)
            self._check(self.lib.nvrtcGetCUBIN(prog, image), "nvrtcGetCUBIN")
            return image.raw
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(prog))

    def _log(self, prog: ctypes.c_void_p) -> str:
        size = ctypes.c_size_t()
        self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value + 1)
        self.lib.nvrtcGetProgramLog(prog, log)
        return log.value.decode(errors="replace")

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise CompileError(f"{what} failed: {self.lib.nvrtcGetErrorString(rc).decode()}")
