"""Device WEBGPU: WGSL compute shaders (render/wgsl.py) run through the `wgpu` package (wgpu-native).

Works on any adapter wgpu finds: a GPU through Vulkan/Metal/D3D12, or lavapipe (Mesa's Vulkan on the CPU)
in CI. Buffers are storage buffers rounded up to 4 bytes; copyin writes through the queue, copyout maps a
staging buffer (queue.read_buffer). Kernels are shaped by codegen/gpu.py and written by render/gpu/writer.py
as CUDA's are (workgroups sharing reduces through workgroup memory and barriers, register-tiled matmuls) within
the adapter's limits; each is one compute pipeline with an automatic bind-group layout, dispatched as its launch
plan (ir/launch.py, rendered beside the source) says, in 2D when it needs more than 65535 workgroups. Dtype support is
declared in render/wgsl.py (UNSUPPORTED): float64 and uint64 raise DTypeError, int64 computes in 32 bits.

lavapipe ends every loop of an invocation once the invocation has run 65535 loop iterations in all (Mesa's
LP_MAX_TGSI_LOOP_ITERATIONS, one counter per shader invocation), silently: a sum over 70000 elements in one
invocation returned 65535. On that adapter the target's loop_limit makes long reduces run shared by a workgroup.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable

from baregrad.codegen import gpu
from baregrad.codegen.gpu_split import GPUKernelOptions
from baregrad.device import Device
from baregrad.errors import CompileError, DeviceError
from baregrad.ir.launch import Kernel, Launch
from baregrad.ir.linear import LinearProgram
from baregrad.render.gpu.lang import WGSLLanguage
from baregrad.render.gpu.writer import render_gpu
from baregrad.render.wgsl import UNSUPPORTED, WORKGROUP, render_wgsl

INSTALL_HINT = "pip install wgpu, and a Vulkan/Metal/D3D12 driver (apt-get install mesa-vulkan-drivers libvulkan1)"

try:
    import wgpu
except ImportError as e:
    raise DeviceError(f"WEBGPU needs the wgpu package: {INSTALL_HINT}") from e

LIMITS = ("max-storage-buffers-per-shader-stage", "max-storage-buffer-binding-size", "max-buffer-size",
          "max-compute-workgroups-per-dimension", "max-compute-invocations-per-workgroup",
          "max-compute-workgroup-size-x", "max-compute-workgroup-storage-size")
LAVAPIPE_LOOP_LIMIT = 65535  # Mesa's LP_MAX_TGSI_LOOP_ITERATIONS
GPU_COMPUTE_UNITS = 16       # WebGPU does not report compute units; a guess for GPUs, used to split long reduces


class WebGPUDevice(Device):
    name = "WEBGPU"
    unsupported_dtypes = UNSUPPORTED
    special_float_values = ("WGSL lets shader compilers assume no NaN or infinity (e.g. x * 0.0 folds to 0), so "
                            "results involving them are not guaranteed")

    def __init__(self) -> None:
        super().__init__()
        try:
            adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        except Exception as e:  # noqa: BLE001 - wgpu raises plain RuntimeError when no adapter exists
            raise DeviceError(f"WEBGPU found no adapter ({e}): {INSTALL_HINT}") from e
        if adapter is None:
            raise DeviceError(f"WEBGPU found no adapter: {INSTALL_HINT}")
        # ask for the adapter's own limits: the defaults allow only 8 buffers per kernel and 128 MiB bindings
        limits = {k: adapter.limits[k] for k in LIMITS if k in adapter.limits}
        self.max_groups = limits.get("max-compute-workgroups-per-dimension", 65535)
        self.device = adapter.request_device_sync(required_limits=limits)
        self.adapter_name = adapter.info.get("device", "?")
        self.adapter_type = str(adapter.info.get("adapter_type", ""))  # "CPU" for lavapipe
        self.target = _target(limits, adapter.info)
        self.kernel_options = GPUKernelOptions(sms=self.target.sms)  # long reduces split across compute units
        self.usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
        self._sync_buffer: Any = None

    def find_peak(self) -> Any:
        from baregrad.device.peak import gpu_peak, host_peak
        return host_peak() if "CPU" in self.adapter_type.upper() else gpu_peak(self.adapter_name, False)

    # ---- allocator ----
    def alloc_raw(self, nbytes: int) -> Any:
        try:
            return self.device.create_buffer(size=max(4, -(-nbytes // 4) * 4), usage=self.usage)
        except Exception as e:  # noqa: BLE001 - wgpu reports allocation failures as validation errors
            raise DeviceError(f"WEBGPU could not allocate {nbytes} bytes: {e}") from e

    def free_raw(self, handle: Any, nbytes: int) -> None:
        handle.destroy()

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        raw = bytes(data)
        if len(raw) % 4:  # writes must be whole words; the pad lands in the buffer's own rounding slack
            raw += bytes(4 - len(raw) % 4)
        if raw:
            self.device.queue.write_buffer(handle, 0, raw)

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        if nbytes == 0:
            return b""
        return bytes(self.device.queue.read_buffer(handle, 0, -(-nbytes // 4) * 4))[:nbytes]

    def synchronize(self) -> None:
        # reading a buffer back waits for all work submitted before it; on_submitted_work_done_sync is broken
        # in some wgpu releases (its callback type no longer matches wgpu-native's)
        if self._sync_buffer is None:
            self._sync_buffer = self.alloc_raw(4)
        self.device.queue.read_buffer(self._sync_buffer, 0, 4)

    # ---- compiler ----
    def render(self, prog: LinearProgram) -> Kernel:
        self.check_dtypes(prog)
        lang = WGSLLanguage()
        plan = gpu.plan(prog, self.target, lang)
        return Kernel(render_gpu(prog, plan, lang, render_wgsl), plan)

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        source = kernel.source
        try:
            module = self.device.create_shader_module(code=source)
            pipeline = self.device.create_compute_pipeline(layout="auto",
                                                           compute={"module": module, "entry_point": prog.name})
        except Exception as e:  # noqa: BLE001 - naga's validation error carries the shader diagnostics
            raise CompileError(f"WGSL compile of kernel {prog.name} failed on {self.adapter_name}:\n{e}\n"
                               f"--- source ---\n{source}") from e
        return _WGPUProgram(self, pipeline, kernel.plan.launches[0])

    def grid(self, threads: int) -> tuple[int, int]:
        """Workgroups in x and y covering `threads` in FLAT kernels' 64-thread workgroups."""
        return self.dispatch(-(-threads // WORKGROUP))

    def dispatch(self, groups: int) -> tuple[int, int]:
        """Workgroups in x and y, at least `groups` of them: x stays within the per-dimension dispatch limit
        (kernels number their groups x + y * width and return past the end)."""
        groups = max(1, groups)
        if groups <= self.max_groups:
            return groups, 1
        y = math.ceil(groups / self.max_groups)
        return math.ceil(groups / y), y


def _target(limits: dict, info: Any) -> gpu.GPUTarget:
    """The limits kernel shaping works within, from the adapter's limits and description."""
    on_cpu = info.get("adapter_type", "") == "CPU"
    threads = min(limits.get("max-compute-invocations-per-workgroup", 256), limits.get("max-compute-workgroup-size-x",
                                                                                         256))
    lavapipe = "llvmpipe" in f"{info.get('vendor', '')} {info.get('device', '')}"
    return gpu.GPUTarget(sms=(os.cpu_count() or 1) if on_cpu else GPU_COMPUTE_UNITS, max_threads=threads,
                         local_bytes=limits.get("max-compute-workgroup-storage-size", 16384), local_is_fast=not on_cpu,
                         loop_limit=LAVAPIPE_LOOP_LIMIT if lavapipe else 0)


class _WGPUProgram:
    def __init__(self, device: WebGPUDevice, pipeline: Any, launch: Launch):
        self.device, self.pipeline = device, pipeline
        self.total = launch.grid[0]
        self.grid = device.dispatch(launch.grid[0])
        self.layout = pipeline.get_bind_group_layout(0)

    @staticmethod
    def _unalias(dev: Any, encoder: Any, handles: tuple) -> tuple[list, list]:
        """WebGPU refuses one buffer bound twice in a dispatch (an in-place write reading its own target):
        later bindings of a buffer read a copy of it instead."""
        out, temps, seen = [], [], set()
        for h in handles:
            if id(h) in seen:
                temp = dev.create_buffer(size=h.size, usage=h.usage)
                encoder.copy_buffer_to_buffer(h, 0, temp, 0, h.size)
                temps.append(temp)
                h = temp
            seen.add(id(h))
            out.append(h)
        return out, temps

    def __call__(self, *handles: Any) -> None:
        if self.total == 0:
            return
        dev = self.device.device
        encoder = dev.create_command_encoder()
        handles, temps = self._unalias(dev, encoder, handles)
        entries = [{"binding": n, "resource": {"buffer": h, "offset": 0, "size": h.size}}
                   for n, h in enumerate(handles)]  # one handle per kernel parameter, in order
        bind_group = dev.create_bind_group(layout=self.layout, entries=entries)
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(self.pipeline)
        compute.set_bind_group(0, bind_group)
        compute.dispatch_workgroups(*self.grid, 1)
        compute.end()
        dev.queue.submit([encoder.finish()])
