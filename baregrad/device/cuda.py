"""Device CUDA: CUDA C (codegen/gpu.py plans, render/gpu/writer.py writes) compiled to a cubin (device/nvcc.py),
run by libcuda.

Everything goes through ctypes (device/cuda_api.py); no CUDA Python package is needed. Work is queued on
one non-blocking stream; copies to and from the host synchronize it. Compiled cubins are cached on disk
by source, compiler version and architecture.

For the JIT: `batch(launches)` captures a list of (program, buffer handles) launches into a CUDA graph
once; `graph.replay()` then re-issues all of them with one cuGraphLaunch and no Python work per kernel.
The buffers are baked in by address, so a replay reads and writes the same buffers every time.

Environment: BAREGRAD_TF32=1 lets fp32 matmuls use tf32 tensor cores (as torch's allow_tf32).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from baregrad import config
from baregrad.codegen import gpu
from baregrad.codegen.gpu_split import GPUKernelOptions
from baregrad.device import Device, nvcc
from baregrad.device import cuda_api as api
from baregrad.device.cuda_api import Driver
from baregrad.errors import DeviceError, OutOfMemoryError
from baregrad.ir.launch import Kernel, Launch
from baregrad.ir.linear import LinearProgram
from baregrad.render.gpu.writer import render_cuda

_DRIVER: Driver | None = None


def driver() -> Driver:
    global _DRIVER
    if _DRIVER is None:
        _DRIVER = Driver()
    return _DRIVER


class CUDADevice(Device):
    name = "CUDA"
    is_gpu = True

    def __init__(self, ordinal: int = 0) -> None:
        super().__init__()
        try:
            self.drv = driver()
            if self.drv.device_count() <= ordinal:
                raise DeviceError(f"no CUDA device {ordinal} ({self.drv.device_count()} found)")
        except DeviceError as e:
            raise DeviceError(f"CUDA device unavailable: {e}") from e
        self.dev = self.drv.device(ordinal)
        self.ctx = self.drv.primary_context(self.dev)
        major = self.drv.attribute(self.dev, api.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
        minor = self.drv.attribute(self.dev, api.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
        self.arch = f"sm_{major}{minor}"
        self.device_name = self.drv.device_name(self.dev)
        sms = self.drv.attribute(self.dev, api.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        self.target = gpu.GPUTarget(major * 10 + minor, sms, config.allow_tf32())
        self.kernel_options = GPUKernelOptions(sms=sms)  # long reduces split across the SMs (codegen/gpu_split.py)
        self.stream = self.drv.stream_create()
        self.compiler = nvcc.kernel_compiler()

    # ---- allocator ----
    def cache_limit(self) -> int:
        """Freed buffers kept for reuse: up to a quarter of the GPU's memory (cuMemAlloc/cuMemFree synchronize)."""
        if not hasattr(self, "_cache_limit"):
            self._cache_limit = max(1 << 30, self.drv.mem_info()[1] // 4)
        return self._cache_limit

    def alloc_raw(self, nbytes: int) -> Any:
        try:
            return self.drv.mem_alloc(nbytes)
        except OutOfMemoryError as e:
            free, total = self.drv.mem_info()
            raise OutOfMemoryError(f"{e}; {free} of {total} bytes free on the GPU") from e

    def free_raw(self, handle: Any, nbytes: int) -> None:
        self.drv.mem_free(handle)

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        raw = data if isinstance(data, bytes) else bytes(data)
        self.drv.htod(handle, raw, len(raw), self.stream)
        self.drv.stream_sync(self.stream)  # the host bytes may be freed as soon as we return

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        out = ctypes.create_string_buffer(max(nbytes, 1))
        self.drv.dtoh(out, handle, nbytes, self.stream)
        self.drv.stream_sync(self.stream)
        return out.raw[:nbytes]

    def copy(self, dst: Any, src: Any, nbytes: int) -> None:
        """Device-to-device copy, queued on the stream (e.g. to refill a JIT graph's input buffers)."""
        self.drv.dtod(dst, src, nbytes, self.stream)

    def clear_cache(self) -> None:
        self.synchronize()  # cached buffers may still be in use by queued kernels
        super().clear_cache()

    def find_peak(self) -> Any:
        from baregrad.device.peak import gpu_peak
        return gpu_peak(self.device_name, config.allow_tf32())

    # ---- compiler and runtime ----
    def render(self, prog: LinearProgram) -> Kernel:
        plan = gpu.plan(prog, self.target)
        return Kernel(render_cuda(prog, plan), plan)

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        source, plan = kernel.source, kernel.plan
        image = nvcc.build_cubin(self.compiler, source, prog.name, self.arch)
        module = self.drv.module_load(image)
        kernels = []
        for launch in plan.launches:
            fn = self.drv.function(module, launch.name)
            if launch.smem > 48 * 1024:
                self.drv.set_max_dynamic_smem(fn, launch.smem)
            kernels.append((fn, launch))
        return CUDAProgram(self, module, kernels)

    def synchronize(self) -> None:
        self.drv.stream_sync(self.stream)

    # ---- timing and replay ----
    def time_ms(self, fn: Callable[[], Any]) -> float:
        """GPU time of the work fn() queues on this device's stream, by CUDA events."""
        start, end = self.drv.event_create(), self.drv.event_create()
        try:
            self.drv.event_record(start, self.stream)
            fn()
            self.drv.event_record(end, self.stream)
            self.drv.event_sync(end)
            return self.drv.event_elapsed_ms(start, end)
        finally:
            self.drv.event_destroy(start)
            self.drv.event_destroy(end)

    def batch(self, launches: Sequence[tuple["CUDAProgram", Sequence[Any]]]) -> "CUDAGraph":
        """Capture (program, buffer handles) launches, in order, into a CUDA graph to replay cheaply."""
        self.synchronize()
        self.drv.begin_capture(self.stream)
        try:
            for program, handles in launches:
                program(*handles)
        except BaseException:
            self.drv.end_capture(self.stream)
            raise
        graph = self.drv.end_capture(self.stream)
        return CUDAGraph(self, graph, self.drv.graph_instantiate(graph), len(launches))

    def __repr__(self) -> str:
        return f"<Device CUDA {self.device_name} {self.arch}>"


class CUDAProgram:
    """A compiled kernel (or a short sequence of them) launched with the planned grid and block."""

    def __init__(self, device: CUDADevice, module: int, kernels: list[tuple[int, Launch]]):
        self.device, self.module, self.kernels = device, module, kernels
        self._args: dict[int, tuple[Any, Any]] = {}  # arity -> (address values, kernelParams pointing at them)
        self._prepared: dict[int, tuple[Any, list[tuple[tuple, Launch]]]] = {}  # arity -> values, launches

    def argument_arrays(self, n: int) -> tuple[Any, Any]:
        """cuLaunchKernel's kernelParams for n buffer addresses, built once per arity: a launch only writes the
        addresses in (the driver copies the values during the call, so the arrays can be reused at once)."""
        arrays = self._args.get(n)
        if arrays is None:
            values = (ctypes.c_uint64 * max(n, 1))()
            base = ctypes.addressof(values)
            params = (ctypes.c_void_p * max(n, 1))(*[base + 8 * i for i in range(n)])
            arrays = self._args[n] = (values, params)
        return arrays

    def prepared(self, n: int) -> tuple[Any, list[tuple[tuple, Launch]]]:
        """The address array and every kernel's cuLaunchKernel arguments for n buffers, built once per arity
        (an eager op is one launch: building its arguments anew each time is a visible part of its cost)."""
        entry = self._prepared.get(n)
        if entry is None:
            values, params = self.argument_arrays(n)
            calls = [(api.Driver.launch_arguments(fn, launch.grid, launch.block, launch.smem, self.device.stream,
                                                      params), launch) for fn, launch in self.kernels]
            entry = self._prepared[n] = (values, calls)
        return entry

    def __call__(self, *handles: Any) -> None:
        drv = self.device.drv
        values, calls = self._prepared.get(len(handles)) or self.prepared(len(handles))
        values[:len(handles)] = handles
        for arguments, launch in calls:
            rc = drv.launch_prepared(arguments)
            if rc != api.CUDA_SUCCESS:
                raise DeviceError(f"CUDA launch of kernel {launch.name} (grid {launch.grid}, block {launch.block}, "
                                  f"{launch.smem} B shared) failed: {drv.error_name(rc)}")


@dataclass
class CUDAGraph:
    """Launches captured by CUDADevice.batch; replay() runs them all again with one driver call."""
    device: CUDADevice
    graph: int
    exe: int
    n_launches: int

    def replay(self) -> None:
        self.device.drv.graph_launch(self.exe, self.device.stream)

    __call__ = replay

    def __del__(self) -> None:
        try:
            self.device.drv.graph_destroy(self.graph, self.exe)
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

