"""Device NV: baregrad's own NVIDIA driver (NVDriver, ioctls to the kernel module) behind the Device contract.

Kernels are the CUDA device's: the same CUDA C (codegen/gpu.py, render/gpu/: the same matmul and reduce shapes),
to a cubin for the GPU's sm_XX by NVRTC (nvcc when no libnvrtc is found) and cached on disk under the same key as
the CUDA device's cubins. Launches go through NVProgram.launch with the grid and block the plan chose.

Mock mode (BAREGRAD_NV_MOCK=1): NVDriver runs against its in-process fake kernel module and GPU. Every program
then also gets a CPU twin -- the same LinearProgram rendered and compiled by the CPU device, called on the mock's
memory -- registered under the cubin's twin key. The whole driver path (allocation, copies through staging,
constant banks, QMDs, launch dimensions, ordering between channels, synchronization, JIT replay patching) then
runs against real results. What the mock does NOT check is the GPU code generation: the CUDA C itself never runs
there (it is only compiled, here and by the CUDA device's tests with nvcc); a real GPU checks it.

For the JIT: `build_replay(launches)` encodes a captured sequence of launches once (nv/replay.py); calling the
result with (launch, argument, handle) patches re-issues them all with one doorbell.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from baregrad import config
from baregrad.codegen import gpu
from baregrad.device import Device, nvcc
from baregrad.errors import DeviceError
from baregrad.ir.launch import GPUPlan, Kernel, Launch
from baregrad.ir.linear import LinearProgram
from baregrad.render.gpu.writer import render_cuda

from . import NVBuffer, NVDriver, NVProgram
from .driver import mock_requested
from .eager import EagerLaunch
from .replay import NVReplay, ReplayLaunch

Patch = tuple[int, int, Any]  # (captured call index, its buffer argument index, new handle)


class NVDevice(Device):
    name = "NV"
    is_gpu = True  # renders through codegen/gpu.py, like CUDA

    def __init__(self, mock: bool | None = None) -> None:
        super().__init__()
        self.mock = mock_requested(mock)
        try:
            self.drv = NVDriver(mock=self.mock)
        except DeviceError as e:
            raise DeviceError(f"NV device unavailable: {e}") from e
        self.arch = self.drv.arch
        self.target = gpu.GPUTarget(int(self.arch[3:]), allow_tf32=config.allow_tf32())
        try:
            self.compiler = nvcc.kernel_compiler()
        except DeviceError as e:
            self.drv.close()
            raise DeviceError(f"NV device has no kernel compiler: {e}") from e
        self._cpu: Any = None  # the CPU device that builds mock twins, made on first use

    # ---- allocator ----
    def cache_limit(self) -> int:
        """Freed buffers kept for reuse (returning one to the driver waits for the GPU). An allocation that
        fails clears this cache and retries, so a generous bound only delays giving memory back."""
        return 8 << 30

    def alloc_raw(self, nbytes: int) -> NVBuffer:
        return self.drv.alloc(max(nbytes, 1))  # the RM's NV_ERR_NO_MEMORY arrives as OutOfMemoryError

    def free_raw(self, handle: NVBuffer, nbytes: int) -> None:
        if not self.drv.closed:
            self.drv.free(handle)

    def copyin(self, handle: NVBuffer, data: bytes | memoryview) -> None:
        self.drv.copyin(handle, memoryview(data))

    def copyout(self, handle: NVBuffer, nbytes: int) -> bytes:
        out = bytearray(nbytes)
        self.drv.copyout(memoryview(out), handle)
        return bytes(out)

    def clear_cache(self) -> None:
        super().clear_cache()
        self.drv.trim()

    def find_peak(self) -> Any:
        """Datasheet figures for the board the PCI device id names (the mock reports an H100 SXM's id)."""
        from baregrad.device.peak import PCI_NAMES, gpu_peak
        board = PCI_NAMES.get(getattr(self.drv.gpu, "pci_device_id", 0))
        return gpu_peak(board, config.allow_tf32()) if board else None

    # ---- compiler and runtime ----
    def render(self, prog: LinearProgram) -> Kernel:
        plan = gpu.plan(prog, self.target)
        return Kernel(render_cuda(prog, plan), plan)

    def compile(self, kernel: Kernel, prog: LinearProgram) -> NVKernel:
        image = self.build(kernel.source, prog.name)
        plan = kernel.plan
        programs = [self.drv.load_program(x.name, image, x.smem) for x in plan.launches]
        nv_kernel = NVKernel(self, list(zip(programs, plan.launches)))
        if self.mock:
            nv_kernel.twins = self._twins(image, plan, prog)
            nv_kernel.register_twins()
        return nv_kernel

    def build(self, source: str, name: str) -> bytes:
        """The cubin for `source` on this GPU, from the disk cache or freshly compiled."""
        return nvcc.build_cubin(self.compiler, source, name, self.arch)

    def synchronize(self) -> None:
        self.drv.synchronize()

    # ---- mock twins ----
    def _twins(self, image: bytes, plan: GPUPlan, prog: LinearProgram) -> list[tuple[Any, Callable]]:
        """Twin key and CPU function per launch: the whole program runs with the last launch; earlier launches
        of a multi-kernel plan only produce what the last one consumes, so their twins do nothing."""
        from .mock import twin_key
        cpu_program = self._cpu_program(prog)

        def run(args: list, grid: tuple, block: tuple) -> None:
            cpu_program(*[(ctypes.c_char * len(mv)).from_buffer(mv) for mv in args if isinstance(mv, memoryview)])

        def nothing(args: list, grid: tuple, block: tuple) -> None:
            return None

        last = len(plan.launches) - 1
        return [(twin_key(image, x.name), run if i == last else nothing) for i, x in enumerate(plan.launches)]

    def _cpu_program(self, prog: LinearProgram) -> Callable[..., Any]:
        if self._cpu is None:
            from baregrad.device.cpu import CPUDevice
            self._cpu = CPUDevice()
        return self._cpu.compile(self._cpu.render(prog), prog)

    # ---- JIT replay ----
    def build_replay(self, launches: Sequence[tuple[NVKernel, Sequence[NVBuffer]]]) -> NVGraph:
        """Encode (kernel, handles) launches once; the result re-issues them with some handles patched."""
        flat, index = [], []
        for kernel, handles in launches:
            first = len(flat)
            for program, launch in kernel.kernels:
                if 0 in launch.grid:
                    continue  # an empty tensor: as in NVKernel.__call__, nothing to launch
                flat.append(ReplayLaunch(program, launch.grid, launch.block, tuple(handles)))
            index.append(list(range(first, len(flat))))
        return NVGraph(self, NVReplay(self.drv, flat) if flat else None, index, [k for k, _ in launches])

    def __repr__(self) -> str:
        return f"<Device NV {self.arch}{' (mock)' if self.mock else ''}>"


class NVKernel:
    """A compiled baregrad kernel: the plan's launches (usually one) of NVPrograms, called with buffer handles."""

    def __init__(self, device: NVDevice, kernels: list[tuple[NVProgram, Launch]]):
        self.device, self.kernels = device, kernels  # handles arrive one per declared param (schedule's contract)
        self.twins: list[tuple[Any, Callable]] = []
        # checked once here, so each call can skip the checks; an empty tensor's launch has nothing to compute
        self.launches = [(program, launch.grid, launch.block) for program, launch in kernels if 0 not in launch.grid]
        for program, grid, block in self.launches:
            program.check_launch(grid, block, n_pointers=program.n_pointers, n_values=0)
        self.eager: list[EagerLaunch | None] = [None] * len(self.launches)  # each launch's prebuilt bytes

    def register_twins(self) -> None:
        """(Mock) make sure the mock knows this kernel's twins: a test may have cleared the registry meanwhile."""
        if self.twins:
            from .mock import register_twin
            for key, fn in self.twins:
                register_twin(key, fn)

    def __call__(self, *handles: NVBuffer) -> None:
        if self.twins:
            self.register_twins()
        drv = self.device.drv
        pointers = [h.va for h in handles]
        local_bytes = drv.local_bytes_per_thread
        for i, eager in enumerate(self.eager):
            if eager is None or eager.local_bytes != local_bytes:
                program, grid, block = self.launches[i]
                eager = self.eager[i] = program.eager_launch(grid, block)
                if eager is None:  # parameters the prebuilt bytes do not cover
                    program.enqueue(handles, grid, block)
                    continue
            drv.launch_eager(eager, pointers)


@dataclass
class NVGraph:
    """A captured launch sequence (NVDevice.build_replay): call with patches to re-issue it."""
    device: NVDevice
    replay: NVReplay | None  # None when every launch was empty
    index: list[list[int]]  # per captured kernel call, the indexes of its driver launches in `replay`
    kernels: list[NVKernel]

    def __call__(self, patches: Sequence[Patch] = ()) -> None:
        for kernel in self.kernels:
            kernel.register_twins()
        if self.replay is not None:
            self.replay.run([(launch, arg, handle) for call, arg, handle in patches for launch in self.index[call]])

    @property
    def n_launches(self) -> int:
        return len(self.replay.launches) if self.replay is not None else 0

    def __del__(self) -> None:
        try:
            if self.replay is not None:
                self.replay.free()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass
