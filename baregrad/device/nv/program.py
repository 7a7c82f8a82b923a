"""A loaded kernel: code in GPU memory plus everything needed to build its constant bank 0 and QMD per launch."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Sequence

from ...errors import ArgumentError, DeviceError
from .cubin import CubinKernel, parse_cubin
from .eager import EagerLaunch, pointers_contiguous
from .memory import MemKind
from .qmd import LaunchDesc, QmdTemplate

if TYPE_CHECKING:
    from .driver import NVBuffer, NVDriver

PREFETCH_SLACK = 0x1000  # the instruction prefetcher reads past the last instruction; keep that memory mapped
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_BLOCK = (1024, 1024, 64)
MAX_THREADS_PER_BLOCK = 1024
# Shared memory carveouts (KiB) the SM can be configured to, by SM major version: the QMD's MAX config.
MAX_SHARED_KIB = {8: 100, 9: 228}
RESERVED_SHARED = 1024  # per block, for the system (sm_80 and later)

# Constant bank 0 header the driver fills (read by nvcc's code; checked by disassembling sm_86/sm_90 cubins):
CB0_BLOCK_DIM = 0x00   # 3 x u32 blockDim
CB0_GRID_DIM = 0x0C    # 3 x u32 gridDim
CB0_SHARED_WINDOW = 0x18  # u64, generic address of shared memory (sm_8x)
CB0_LOCAL_WINDOW = 0x20   # u64, generic address of local memory
CB0_STACK_TOP = 0x28      # u32, initial stack pointer inside the local window
STACK_TOP = 0xFFFDC0
STACK_WINDOW_BYTES = 1 << 24  # each thread's local window; the kernel's stack sits at its top
CB0_DIMS = struct.Struct("<6I")


def _va(b: NVBuffer | int) -> int:
    return b if isinstance(b, int) else b.va


def _dims(name: str, dims: Sequence[int], limits: tuple[int, int, int]) -> tuple[int, int, int]:
    d = tuple(int(x) for x in dims) + (1,) * (3 - len(dims))
    if len(d) != 3 or any(not 1 <= x <= lim for x, lim in zip(d, limits)):
        raise ArgumentError(f"NV: {name} {tuple(dims)} must be 1 to 3 positive sizes within {limits}")
    return d  # type: ignore[return-value]


class NVProgram:
    """One kernel of a cubin, loaded on an NVDriver's GPU."""

    def __init__(self, driver: NVDriver, name: str, cubin: bytes, dynamic_shared: int = 0):
        self.driver, self.name = driver, name
        self.kernel: CubinKernel = parse_cubin(cubin, name)
        self._check_arch()
        self.shared_bytes = self.kernel.shared_bytes + dynamic_shared
        limit = MAX_SHARED_KIB.get(self.driver.gpu.gr.sm_major, 100) * 1024 - RESERVED_SHARED
        if self.shared_bytes > limit:
            raise DeviceError(f"NV: kernel {name} needs {self.shared_bytes} B of shared memory; a block may have "
                              f"{limit} B on {self.driver.gpu.gr.arch}")
        self.image = driver.gpu.memory.alloc(len(self.kernel.image) + PREFETCH_SLACK, MemKind.VIDMEM_CPU)
        self.image.view()[:len(self.kernel.image)] = self.kernel.relocated_image(self.image.va)
        self.program_va = self.image.va + self.kernel.entry_offset
        self.n_pointers = sum(1 for p in self.kernel.params if p.size == 8)
        self.n_values = sum(1 for p in self.kernel.params if p.size == 4)
        if any(p.size not in (4, 8) for p in self.kernel.params):
            raise DeviceError(f"NV: kernel {name} has a parameter that is neither a pointer nor a 32-bit value")
        if self.kernel.local_bytes:
            # the stack starts at STACK_TOP and grows down, and local memory is backed from the top of the 16 MiB
            # per-thread window: the bytes above STACK_TOP must be covered too, or the first push faults
            driver.ensure_local_memory(self.kernel.local_bytes + STACK_WINDOW_BYTES - STACK_TOP)
        self._template: QmdTemplate | None = None
        self._template_local = -1
        self._eager: dict[tuple, EagerLaunch | None] = {}  # (grid, block) -> its prebuilt launch
        self._prepare_constant_bank()

    def _prepare_constant_bank(self) -> None:
        """The bank's fixed header once, and one struct that packs every parameter at its offset."""
        k = self.kernel
        self.cb_template = bytearray(max(k.cbuf0_bytes, k.param_base + k.param_bytes))
        struct.pack_into("<QQI", self.cb_template, CB0_SHARED_WINDOW, self.driver.shared_window,
                         self.driver.local_window, STACK_TOP)
        fmt, at, self.param_is_pointer = "<", k.param_base, []
        for p in sorted(k.params, key=lambda x: x.offset):
            fmt += "x" * (k.param_base + p.offset - at) + ("Q" if p.size == 8 else "I")
            at = k.param_base + p.offset + p.size
            self.param_is_pointer.append(p.size == 8)
        self.param_struct = struct.Struct(fmt)
        self.in_declaration_order = [p.offset for p in k.params] == sorted(p.offset for p in k.params)

    def _check_arch(self) -> None:
        gr = self.driver.gpu.gr
        major, minor = divmod(self.kernel.sm, 10)
        if major != gr.sm_major or minor > gr.sm_minor:
            raise DeviceError(f"NV: kernel {self.name} was compiled for sm_{self.kernel.sm}; this GPU is {gr.arch}")

    def constant_bank0(self, bufs: Sequence[NVBuffer | int], vals: Sequence[int], grid: tuple[int, int, int],
                       block: tuple[int, int, int]) -> bytes:
        """Driver header plus kernel parameters in declaration order (pointers from bufs, 32-bit from vals)."""
        cb = bytearray(self.cb_template)
        CB0_DIMS.pack_into(cb, CB0_BLOCK_DIM, *block, *grid)
        if self.in_declaration_order:
            ptrs, ints = iter(bufs), iter(vals)
            args = [_va(next(ptrs)) if is_ptr else int(next(ints)) & 0xFFFFFFFF for is_ptr in self.param_is_pointer]
            self.param_struct.pack_into(cb, self.kernel.param_base, *args)
            return bytes(cb)
        ptrs, ints = iter(bufs), iter(vals)
        for p in self.kernel.params:
            at = self.kernel.param_base + p.offset
            if p.size == 8:
                b = next(ptrs)
                struct.pack_into("<Q", cb, at, b if isinstance(b, int) else b.va)
            else:
                struct.pack_into("<I", cb, at, int(next(ints)) & 0xFFFFFFFF)
        return bytes(cb)

    def launch(self, bufs: Sequence[NVBuffer | int], global_size: Sequence[int], local_size: Sequence[int],
               vals: Sequence[int] = (), wait: bool = False) -> float | None:
        """Run the kernel on a grid of `global_size` blocks of `local_size` threads; GPU seconds if `wait`."""
        grid, block = self.check_launch(global_size, local_size, len(bufs), len(vals))
        if not wait and not vals:
            self.enqueue(bufs, grid, block)
            return None
        cb0 = self.constant_bank0(bufs, vals, grid, block)
        return self.driver.submit_launch(self, cb0, grid, block, wait)

    def check_launch(self, global_size: Sequence[int], local_size: Sequence[int], n_pointers: int,
                     n_values: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """Grid and block as 3-tuples; ArgumentError when they or the argument counts do not fit the kernel."""
        if n_pointers != self.n_pointers or n_values != self.n_values:
            raise ArgumentError(f"NV: kernel {self.name} takes {self.n_pointers} pointer(s) and {self.n_values} "
                                f"32-bit value(s); got {n_pointers} buffer(s) and {n_values} value(s)")
        grid, block = _dims("global_size", global_size, MAX_GRID), _dims("local_size", local_size, MAX_BLOCK)
        if block[0] * block[1] * block[2] > MAX_THREADS_PER_BLOCK:
            raise ArgumentError(f"NV: local_size {block} has more than {MAX_THREADS_PER_BLOCK} threads")
        return grid, block

    def enqueue(self, bufs: Sequence[NVBuffer | int], grid: tuple[int, int, int], block: tuple[int, int, int]) -> None:
        """launch() of pointer arguments without the checks, for callers whose grid and block were checked once
        (NVKernel): through the launch's prebuilt bytes when the parameters allow."""
        eager = self._eager.get((grid, block))
        if eager is None or eager.local_bytes != self.driver.local_bytes_per_thread:
            eager = self._eager[(grid, block)] = self.eager_launch(grid, block)
        if eager is None:
            self.driver.submit_launch(self, self.constant_bank0(bufs, (), grid, block), grid, block, False)
        else:
            self.driver.launch_eager(eager, [b if isinstance(b, int) else b.va for b in bufs])

    def describe(self, grid: tuple[int, int, int], block: tuple[int, int, int], cb0_va: int,
                 cb0_size: int) -> LaunchDesc:
        k, gr = self.kernel, self.driver.gpu.gr
        cbufs = {0: (cb0_va, cb0_size)}
        cbufs.update({bank: (self.image.va + off, size) for bank, (off, size) in k.cbufs.items()})
        max_kib = MAX_SHARED_KIB.get(gr.sm_major, 100)
        return LaunchDesc(program_va=self.program_va, grid=grid, block=block, cbufs=cbufs,
                          shared_bytes=self.shared_bytes,
                          registers=k.registers, local_bytes_per_thread=self.driver.local_bytes_per_thread,
                          sass_version=(gr.sm_major << 4) | gr.sm_minor, max_shared_config=max_kib // 4 + 1)

    def qmd_template(self) -> QmdTemplate:
        local = self.driver.local_bytes_per_thread
        if self._template is None or self._template_local != local:  # local memory size is baked into the QMD
            self._template = QmdTemplate(self.driver.gpu.classes.qmd, self.describe((1, 1, 1), (1, 1, 1), 0, 0))
            self._template_local = local
        return self._template

    def qmd(self, grid: tuple[int, int, int], block: tuple[int, int, int], cb0_va: int, cb0_size: int) -> bytes:
        return self.qmd_template().build(grid, block, cb0_va, cb0_size)

    def eager_launch(self, grid: tuple[int, int, int], block: tuple[int, int, int]) -> EagerLaunch | None:
        """Prebuilt bytes for launching with this grid and block (None unless the parameters are all pointers, one
        after the other: other kernels take the general path, NVDriver.submit_launch)."""
        if not pointers_contiguous(self):
            return None
        return EagerLaunch(self, grid, block, self.driver.sem_va)

    def free(self) -> None:
        self.driver.gpu.memory.free(self.image)
