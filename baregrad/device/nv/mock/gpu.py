"""The mock GPU: a page table of GPU virtual addresses and channels that execute what the driver submitted.

When a doorbell rings, every runnable channel reads GPPut from its USERD, walks its GPFIFO entries, decodes the
method headers of each pushbuffer and runs them: host semaphore acquire/release, copy-engine copies, and compute
launches (the QMD is decoded; the program at its address is matched to a registered CPU twin that receives the
kernel arguments decoded from constant bank 0). Faults write the channel's error notifier like the RM does.
"""
from __future__ import annotations

import bisect
import struct
import time
from dataclasses import dataclass, field

from .. import methods as m
from ..abi_rm import RmClass
from ..qmd import QMD_LAYOUTS, decode_launch, qmd_major_version
from .memory import MockMemory
from .twins import find_twin

ERR_GR_EXCEPTION, ERR_MMU_FAULT, ERR_PBDMA, ERR_CE0, ERR_GR_CLASS = 13, 31, 32, 39, 69
COMPUTE_CLASSES = {RmClass.HOPPER_COMPUTE_A, RmClass.ADA_COMPUTE_A, RmClass.AMPERE_COMPUTE_B, RmClass.AMPERE_COMPUTE_A}
COPY_CLASSES = {RmClass.HOPPER_DMA_COPY_A, RmClass.AMPERE_DMA_COPY_B, RmClass.AMPERE_DMA_COPY_A,
                RmClass.BLACKWELL_DMA_COPY_A}


class GpuFault(Exception):
    """Something the real GPU would fault on; `code` is the ROBUST_CHANNEL_* error the RM would report."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code


@dataclass
class Launch:
    """A record of one executed kernel launch, for tests."""
    program_va: int
    grid: tuple
    block: tuple
    cbuf0: tuple[int, int]
    twin: str


class PageTable:
    """GPU virtual address -> (memory object, offset), built from UVM external mappings."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.entries: dict[int, tuple[int, MockMemory]] = {}  # start -> (size, memory)

    def map(self, va: int, size: int, mem: MockMemory) -> None:
        bisect.insort(self.starts, va)
        self.entries[va] = (size, mem)

    def unmap(self, va: int) -> None:
        self.starts.remove(va)
        del self.entries[va]

    def view(self, va: int, n: int | None = None) -> memoryview:
        """Bytes at `va` (n of them, or up to the end of the mapping); GpuFault if unmapped."""
        i = bisect.bisect_right(self.starts, va) - 1
        if i >= 0:
            start = self.starts[i]
            size, mem = self.entries[start]
            count = size - (va - start) if n is None else n
            if va + count <= start + size and count >= 0:
                return mem.view(va - start, count)
        raise GpuFault(ERR_MMU_FAULT, f"GPU MMU fault: access to unmapped address 0x{va:x}"
                                      f"{'' if n is None else f' (+0x{n:x} bytes)'}")

    def read_u64(self, va: int) -> int:
        return struct.unpack("<Q", self.view(va, 8))[0]


@dataclass
class MockChannel:
    """One GPFIFO channel as the mock GPU sees it."""
    gpu: MockGpu
    token: int
    ring_va: int
    entries: int
    userd: MockMemory
    userd_offset: int
    error: MockMemory
    objects: set[int] = field(default_factory=set)  # engine classes allocated on this channel
    scheduled: bool = False
    dead: bool = False
    gp_get: int = 0
    current: tuple[list[int], int, int] | None = None  # (words, header index, data index) of a stalled pushbuffer
    bound: dict[int, int] = field(default_factory=dict)  # subchannel -> class
    regs: dict[tuple[int, int], int] = field(default_factory=dict)  # (subchannel, method) -> last data

    def _userd_u32(self, offset: int) -> int:
        return struct.unpack("<I", self.userd.view(self.userd_offset + offset, 4))[0]

    def run(self) -> bool:
        """Execute as much as possible; True if anything was consumed."""
        if self.dead or not self.scheduled:
            return False
        progress = False
        try:
            while True:
                if self.current is None:
                    if self.gp_get == self._userd_u32(m.USERD_GP_PUT_OFFSET) % self.entries:
                        return progress
                    entry = self.gpu.pages.read_u64(self.ring_va + self.gp_get * m.GP_ENTRY_BYTES)
                    va, length = m.decode_gp_entry(entry)
                    self.current = (list(self.gpu.pages.view(va, length * 4).cast("I")), 0, 0)
                if not self._execute():
                    return progress
                self.current = None
                self.gp_get = (self.gp_get + 1) % self.entries
                struct.pack_into("<I", self.userd.view(self.userd_offset, m.USERD_BYTES), m.USERD_GP_GET_OFFSET,
                                 self.gp_get)
                progress = True
        except GpuFault as fault:
            self._fault(fault)
            return True

    def _execute(self) -> bool:
        """Run the current pushbuffer from where it stopped; False if a semaphore acquire stalls it."""
        words, pos, done = self.current
        while pos < len(words):
            h = m.decode_method_header(words[pos])
            if h.opcode == 4:  # immediate: the 13-bit count field is the data
                data, addresses = [h.count], [h.method]
            elif h.opcode in (1, 3, 5):
                data = words[pos + 1:pos + 1 + h.count]
                if len(data) < h.count:
                    raise GpuFault(ERR_PBDMA, f"method header at dword {pos} runs past the pushbuffer")
                step = {1: 4, 3: 0}.get(h.opcode)
                addresses = [h.method + (4 * i if step == 4 else 0 if step == 0 else 4 * min(i, 1))
                             for i in range(h.count)]
            elif words[pos] == 0:
                pos += 1
                continue
            else:
                raise GpuFault(ERR_PBDMA, f"unknown pushbuffer opcode {h.opcode} (word 0x{words[pos]:08x})")
            for i in range(done, len(data)):
                if not self._method(h.subchannel, addresses[i], data[i]):
                    self.current = (words, pos, i)
                    return False
            pos, done = pos + 1 + (0 if h.opcode == 4 else h.count), 0
        return True

    def _method(self, subc: int, method: int, data: int) -> bool:
        if method == m.HostMethod.SET_OBJECT:
            if data not in self.objects:
                raise GpuFault(ERR_GR_CLASS, f"SET_OBJECT 0x{data:x} on subchannel {subc}: no such object on channel")
            self.bound[subc] = data
            return True
        self.regs[(subc, method)] = data
        if method < 0x100:
            return self._host_method(subc, method)
        cls = self.bound.get(subc)
        if cls is None:
            raise GpuFault(ERR_GR_CLASS, f"method 0x{method:x} to subchannel {subc}, which has no object bound")
        if cls in COMPUTE_CLASSES and method == m.ComputeMethod.SEND_SIGNALING_PCAS2_B:
            self._launch(subc)
        elif cls in COPY_CLASSES and method == m.CopyMethod.LAUNCH_DMA:
            self._dma(subc, data)
        return True

    def _reg64(self, subc: int, hi: int, lo: int) -> int:
        return (self.regs.get((subc, hi), 0) << 32) | self.regs.get((subc, lo), 0)

    def _host_method(self, subc: int, method: int) -> bool:
        if method != m.HostMethod.SEM_EXECUTE:
            return True
        execute = self.regs[(subc, method)]
        va = self._reg64(subc, m.HostMethod.SEM_ADDR_HI, m.HostMethod.SEM_ADDR_LO)
        payload = self._reg64(subc, m.HostMethod.SEM_PAYLOAD_HI, m.HostMethod.SEM_PAYLOAD_LO)
        wide = bool(execute & m.SEM_EXECUTE_PAYLOAD_SIZE_64BIT)
        op = execute & 0x7
        if op == m.SEM_EXECUTE_OPERATION_RELEASE:
            sem = self.gpu.pages.view(va, 16 if execute & m.SEM_EXECUTE_RELEASE_TIMESTAMP_EN else 8)
            if execute & m.SEM_EXECUTE_RELEASE_TIMESTAMP_EN:
                struct.pack_into("<Q", sem, 8, time.monotonic_ns())
            struct.pack_into("<Q" if wide else "<I", sem, 0, payload if wide else payload & 0xFFFFFFFF)
            self.gpu.released = True
            return True
        current = struct.unpack("<Q" if wide else "<I", self.gpu.pages.view(va, 8 if wide else 4))[0]
        if op == m.SEM_EXECUTE_OPERATION_ACQ_CIRC_GEQ:
            return current >= payload
        if op == m.SEM_EXECUTE_OPERATION_ACQUIRE:
            return current == payload
        raise GpuFault(ERR_PBDMA, f"unsupported SEM_EXECUTE operation {op}")

    def _dma(self, subc: int, launch: int) -> None:
        if launch & 0x3:
            unsupported = (m.LAUNCH_DMA_MULTI_LINE_ENABLE | m.LAUNCH_DMA_SRC_TYPE_PHYSICAL
                           | m.LAUNCH_DMA_DST_TYPE_PHYSICAL)
            pitch = m.LAUNCH_DMA_SRC_MEMORY_LAYOUT_PITCH | m.LAUNCH_DMA_DST_MEMORY_LAYOUT_PITCH
            if launch & unsupported or launch & pitch != pitch:
                raise GpuFault(ERR_CE0, f"LAUNCH_DMA 0x{launch:x}: mock copies only 1-D virtual pitch copies")
            src = self._reg64(subc, m.CopyMethod.OFFSET_IN_UPPER, m.CopyMethod.OFFSET_IN_LOWER)
            dst = self._reg64(subc, m.CopyMethod.OFFSET_OUT_UPPER, m.CopyMethod.OFFSET_OUT_LOWER)
            n = self.regs.get((subc, m.CopyMethod.LINE_LENGTH_IN), 0)
            self.gpu.pages.view(dst, n)[:] = self.gpu.pages.view(src, n)
            self.gpu.copies.append((dst, src, n))
        if (launch >> 3) & 0x3:  # SEMAPHORE_TYPE: release a one-word semaphore
            va = self._reg64(subc, m.CopyMethod.SET_SEMAPHORE_A, m.CopyMethod.SET_SEMAPHORE_B)
            payload = self.regs.get((subc, m.CopyMethod.SET_SEMAPHORE_PAYLOAD), 0)
            struct.pack_into("<I", self.gpu.pages.view(va, 4), 0, payload)

    def _launch(self, subc: int) -> None:
        qmd_va = self.regs.get((subc, m.ComputeMethod.SEND_PCAS_A), 0) << 8
        head = bytes(self.gpu.pages.view(qmd_va, 0x100))
        layout = QMD_LAYOUTS.get(qmd_major_version(head))
        if layout is None:
            raise GpuFault(ERR_GR_EXCEPTION, f"QMD at 0x{qmd_va:x} has unknown major version {qmd_major_version(head)}")
        desc = decode_launch(bytes(self.gpu.pages.view(qmd_va, layout.size_bytes)))
        if 0 not in desc.cbufs:
            raise GpuFault(ERR_GR_EXCEPTION, "launch without constant bank 0")
        cb_va, cb_size = desc.cbufs[0]
        cb = bytes(self.gpu.pages.view(cb_va, cb_size))
        if struct.unpack_from("<6I", cb) != (*desc.block, *desc.grid):
            raise GpuFault(ERR_GR_EXCEPTION, f"constant bank 0 dims {struct.unpack_from('<6I', cb)} disagree with "
                                             f"QMD grid {desc.grid} block {desc.block}")
        self.gpu.pages.view(desc.program_va, 16)  # an unmapped program address faults like the real fetch would
        code = bytes(self.gpu.pages.view(desc.program_va))  # to the end of the program's mapping

        def read_code(n: int) -> bytes:
            if n > len(code):  # a longer twin's code cannot be here: skip it, do not fault
                raise LookupError(f"{n} bytes past the end of the program mapping")
            return code[:n]
        found = find_twin(read_code)
        if found is None:
            raise GpuFault(ERR_GR_EXCEPTION, f"no CPU twin registered for the program at 0x{desc.program_va:x}")
        key, fn = found
        args = self._arguments(key, cb)
        try:
            fn(args, desc.grid, desc.block)
        except GpuFault:
            raise
        except Exception as e:  # a crashing twin stands for a kernel that traps
            raise GpuFault(ERR_GR_EXCEPTION, f"CPU twin of {key.name} raised {type(e).__name__}: {e}") from e
        self.gpu.launches.append(Launch(desc.program_va, desc.grid, desc.block, (cb_va, cb_size), key.name))

    def _arguments(self, key, cb: bytes) -> list:
        args = []
        for p in key.params:
            at = key.param_base + p.offset
            if at + p.size > len(cb):
                raise GpuFault(ERR_GR_EXCEPTION, f"parameter {p.ordinal} at c[0x0][0x{at:x}] is past bank 0's end")
            if p.size == 8:
                args.append(self.gpu.pages.view(struct.unpack_from("<Q", cb, at)[0]))
            else:
                args.append(struct.unpack_from("<i", cb, at)[0])
        return args

    def _fault(self, fault: GpuFault) -> None:
        """Write the error notifier (NvNotification: timestamp, info32, info16, status) and stop the channel."""
        note = self.error.view(0, 16)
        struct.pack_into("<QIHH", note, 0, time.time_ns(), fault.code, 1, 0xFFFF)
        self.dead = True
        self.gpu.faults.append(f"channel {self.token}: {fault}")


class MockGpu:
    """All channels and the shared GPU page table."""

    def __init__(self) -> None:
        self.pages = PageTable()
        self.channels: dict[int, MockChannel] = {}
        self.launches: list[Launch] = []
        self.copies: list[tuple[int, int, int]] = []
        self.faults: list[str] = []
        self.released = False

    def doorbell(self, token: int) -> None:
        if token not in self.channels:
            return  # the real GPU ignores unknown tokens too
        progress = True
        while progress:  # a release on one channel may unblock another's acquire
            progress = any([ch.run() for ch in self.channels.values()])
