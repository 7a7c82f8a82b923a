"""MockKernel: an in-process stand-in for NVIDIA's kernel module, speaking the same ioctls, mmaps and doorbell.

It validates what a real module would reject (unknown handles, wrong parameter sizes, classes the GPU lacks,
overlapping UVM ranges) and backs every memory object with host memory, so the driver's own code runs unchanged.
"""
from __future__ import annotations

import ctypes
import errno
import itertools
from dataclasses import dataclass, field

from .. import abi_ioctl as io
from .. import abi_rm as r
from .. import abi_uvm as u
from .. import methods as m
from ..kernel_iface import sys_mmap, sys_munmap
from .gpu import MockChannel, MockGpu
from .memory import MockMemory

C = r.RmClass
HOPPER_CLASSES = (C.NV01_ROOT_CLIENT, C.NV01_DEVICE_0, C.NV20_SUBDEVICE_0, C.NV01_MEMORY_SYSTEM,
                  C.NV01_MEMORY_LOCAL_USER, C.NV01_MEMORY_SYSTEM_OS_DESCRIPTOR, C.FERMI_VASPACE_A,
                  C.FERMI_CONTEXT_SHARE_A, C.KEPLER_CHANNEL_GROUP_A, C.HOPPER_USERMODE_A, C.HOPPER_CHANNEL_GPFIFO_A,
                  C.HOPPER_DMA_COPY_A, C.HOPPER_COMPUTE_A)
MOCK_VERSION = "580.159.04"
MOCK_UUID = bytes(range(0xA0, 0xB0))
MOCK_GPU_ID = 0x100
SM_VERSION_9_0 = 0x900
OK, ERR_INVALID_ARGUMENT, ERR_INVALID_CLASS, ERR_INVALID_OBJECT_HANDLE = 0, 0x1F, 0x22, 0x33
ERR_INVALID_PARAM_STRUCT, ERR_NOT_SUPPORTED, ERR_UVM_ADDRESS_IN_USE = 0x3A, 0x56, 0x68
ERR_NO_MEMORY = 0x51
VIDMEM_BYTES = 80 << 30  # the mock GPU's video memory (an H100's 80 GiB): more is refused as the RM would
PARAMS_FOR_CLASS = {C.NV01_DEVICE_0: r.NV0080_ALLOC_PARAMETERS, C.NV20_SUBDEVICE_0: r.NV2080_ALLOC_PARAMETERS,
                    C.NV01_MEMORY_LOCAL_USER: r.NV_MEMORY_ALLOCATION_PARAMS,
                    C.NV01_MEMORY_SYSTEM: r.NV_MEMORY_ALLOCATION_PARAMS,
                    C.FERMI_VASPACE_A: r.NV_VASPACE_ALLOCATION_PARAMETERS,
                    C.KEPLER_CHANNEL_GROUP_A: r.NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS,
                    C.FERMI_CONTEXT_SHARE_A: r.NV_CTXSHARE_ALLOCATION_PARAMETERS}
GPFIFO = {C.HOPPER_CHANNEL_GPFIFO_A, C.AMPERE_CHANNEL_GPFIFO_A, C.BLACKWELL_CHANNEL_GPFIFO_A}
ENGINES = {C.HOPPER_COMPUTE_A, C.ADA_COMPUTE_A, C.AMPERE_COMPUTE_B, C.AMPERE_COMPUTE_A, C.HOPPER_DMA_COPY_A,
           C.AMPERE_DMA_COPY_A, C.AMPERE_DMA_COPY_B, C.BLACKWELL_DMA_COPY_A}
USERMODE = {C.TURING_USERMODE_A, C.AMPERE_USERMODE_A, C.HOPPER_USERMODE_A, C.BLACKWELL_USERMODE_A}


@dataclass
class FakeFile:
    path: str
    kind: str  # "ctl", "gpu" or "uvm"
    registered: bool = False
    pending_map: MockMemory | None = None


@dataclass
class RmObject:
    cls: int
    parent: int
    memory: MockMemory | None = None
    channel: MockChannel | None = None
    children: list[int] = field(default_factory=list)


class MockRegister:
    """A register handle like RealKernel's ctypes word: assigning `.value` is an mmio_write32 the mock sees."""

    def __init__(self, kernel: MockKernel, addr: int):
        self.kernel, self.addr = kernel, addr

    @property
    def value(self) -> int:
        return ctypes.c_uint32.from_address(self.addr).value

    @value.setter
    def value(self, v: int) -> None:
        self.kernel.mmio_write32(self.addr, v)


class MockKernel:
    """Implements KernelInterface (open, close, ioctl, mmap, munmap, mmio_write32, mmio_register) in process."""

    def __init__(self, dev_root: str = "/dev", classes: tuple[int, ...] = HOPPER_CLASSES,
                 sm_version: int = SM_VERSION_9_0):
        self.nodes = {"/dev/nvidiactl": "ctl", "/dev/nvidia0": "gpu", "/dev/nvidia-uvm": "uvm"}
        self.classes, self.sm_version = tuple(classes), sm_version
        self.files: dict[int, FakeFile] = {}
        self.fds = itertools.count(1000)
        self.handles = itertools.count(0xCAF00001)
        self.tokens = itertools.count(0x10)
        self.objects: dict[int, RmObject] = {}
        self.gpu = MockGpu()
        self.uvm_ranges: dict[int, int] = {}  # base -> length
        self.uvm_fd = -1
        self.usermode_maps: dict[int, MockMemory] = {}  # CPU address -> usermode page
        self.freed_memory = 0
        self.vidmem_bytes, self.vidmem_used = VIDMEM_BYTES, 0
        self.calls: list[str] = []

    # --- KernelInterface -----------------------------------------------------------------------------------
    def open(self, path: str) -> int:
        kind = self.nodes.get(path)
        if kind is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        fd = next(self.fds)
        self.files[fd] = FakeFile(path, kind)
        return fd

    def close(self, fd: int) -> None:
        if self.files.pop(fd, None) is None:
            raise OSError(errno.EBADF, f"close: bad fd {fd}")
        if fd == self.uvm_fd:  # closing the UVM file tears down the process's GPU VA space
            for base in list(self.gpu.pages.entries):
                self.gpu.pages.unmap(base)
            self.uvm_ranges.clear()
            self.uvm_fd = -1

    def ioctl(self, fd: int, request: int, arg: ctypes.Structure | ctypes.Array) -> None:
        f = self.files.get(fd)
        if f is None:
            raise OSError(errno.EBADF, f"ioctl: bad fd {fd}")
        if f.kind == "uvm":
            if request == u.UvmIoctl.UVM_INITIALIZE:
                self.uvm_fd = fd
            return self._uvm(u.UvmIoctl(request), arg)
        nr, size = request & 0xFF, (request >> 16) & 0x3FFF
        if (request >> 8) & 0xFF != io.NV_IOCTL_MAGIC or size != ctypes.sizeof(arg):
            raise OSError(errno.EINVAL, f"ioctl 0x{request:x}: bad magic or size")
        self.calls.append(f"nv:{nr:#x}")
        handler = {io.NV_ESC_CARD_INFO: self._card_info, io.NV_ESC_REGISTER_FD: self._register_fd,
                   io.NV_ESC_CHECK_VERSION_STR: self._version, io.NV_ESC_RM_ALLOC: self._alloc,
                   io.NV_ESC_RM_CONTROL: self._control, io.NV_ESC_RM_FREE: self._free,
                   io.NV_ESC_RM_MAP_MEMORY: self._map_memory, io.NV_ESC_RM_ALLOC_MEMORY: self._alloc_memory}.get(nr)
        if handler is None:
            raise OSError(errno.EINVAL, f"ioctl nr 0x{nr:x} not implemented by the mock")
        handler(f, arg)

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int:
        if fd == -1:
            return sys_mmap(addr, length, prot, flags, -1, offset)
        f = self.files.get(fd)
        if f is None or f.pending_map is None:
            raise OSError(errno.EINVAL, f"mmap of fd {fd} without a preceding NV_ESC_RM_MAP_MEMORY")
        mem = f.pending_map
        if length > mem.size:
            raise OSError(errno.EINVAL, f"mmap of 0x{length:x} bytes of a 0x{mem.size:x}-byte object")
        got = sys_mmap(addr, length, prot, flags, mem.fd, offset)
        if mem.usermode:
            self.usermode_maps[got] = mem
        return got

    def munmap(self, addr: int, length: int) -> None:
        self.usermode_maps.pop(addr, None)
        sys_munmap(addr, length)

    def mmio_write32(self, addr: int, value: int) -> None:
        ctypes.c_uint32.from_address(addr).value = value
        if addr - m.USERMODE_NOTIFY_CHANNEL_PENDING in self.usermode_maps:
            self.gpu.doorbell(value)

    def mmio_register(self, addr: int) -> MockRegister:
        return MockRegister(self, addr)

    # --- NV escapes ------------------------------------------------------------------------------------------
    def _card_info(self, f: FakeFile, cards: ctypes.Array) -> None:
        cards[0].valid, cards[0].gpu_id, cards[0].minor_number = 1, MOCK_GPU_ID, 0
        cards[0].pci_info.vendor_id, cards[0].pci_info.device_id = 0x10DE, 0x2330  # an H100 SXM

    def _register_fd(self, f: FakeFile, arg: io.nv_ioctl_register_fd_t) -> None:
        ctl = self.files.get(arg.ctl_fd)
        if f.kind != "gpu" or ctl is None or ctl.kind != "ctl":
            raise OSError(errno.EINVAL, "NV_ESC_REGISTER_FD needs a GPU fd and a control fd")
        f.registered = True

    def _version(self, f: FakeFile, arg: io.nv_ioctl_rm_api_version_t) -> None:
        arg.reply, arg.versionString = 1, MOCK_VERSION.encode()

    def _params(self, address: int, size: int, cls: type) -> ctypes.Structure | None:
        if size != ctypes.sizeof(cls) or not address:
            return None
        return cls.from_address(address)

    def _alloc(self, f: FakeFile, arg: io.NVOS21_PARAMETERS) -> None:
        arg.status = self._alloc_status(arg)

    def _alloc_status(self, arg: io.NVOS21_PARAMETERS) -> int:
        cls = arg.hClass
        if cls == C.NV01_ROOT_CLIENT:
            arg.hObjectNew = handle = next(self.handles)
            self.objects[handle] = RmObject(cls, 0)
            return OK
        if cls not in self.classes:
            return ERR_INVALID_CLASS
        parent = self.objects.get(arg.hObjectParent)
        if parent is None or arg.hRoot not in self.objects:
            return ERR_INVALID_OBJECT_HANDLE
        expected = PARAMS_FOR_CLASS.get(cls) or (r.NV_CHANNEL_ALLOC_PARAMS if cls in GPFIFO else None)
        params = self._params(arg.pAllocParms, arg.paramsSize, expected) if expected else None
        if expected and params is None:
            return ERR_INVALID_PARAM_STRUCT
        obj = RmObject(cls, arg.hObjectParent)
        status = self._construct(obj, params, parent)
        if status == OK:
            arg.hObjectNew = handle = arg.hObjectNew or next(self.handles)
            self.objects[handle] = obj
            parent.children.append(handle)
        return status

    def _construct(self, obj: RmObject, params: ctypes.Structure | None, parent: RmObject) -> int:
        if obj.cls in (C.NV01_MEMORY_LOCAL_USER, C.NV01_MEMORY_SYSTEM):
            if params.size == 0 or params.size % 0x1000:
                return ERR_INVALID_ARGUMENT
            if obj.cls == C.NV01_MEMORY_LOCAL_USER:
                if self.vidmem_used + params.size > self.vidmem_bytes:
                    return ERR_NO_MEMORY
                self.vidmem_used += params.size
            obj.memory = MockMemory(params.size)
        elif obj.cls in USERMODE:
            obj.memory = MockMemory(m.USERMODE_MAP_BYTES, usermode=True)
        elif obj.cls in GPFIFO:
            return self._channel(obj, params)
        elif obj.cls in ENGINES:
            if parent.channel is None:
                return ERR_INVALID_OBJECT_HANDLE
            parent.channel.objects.add(obj.cls)
        return OK

    def _channel(self, obj: RmObject, p: r.NV_CHANNEL_ALLOC_PARAMS) -> int:
        userd, error = self.objects.get(p.hUserdMemory[0]), self.objects.get(p.hObjectError)
        if userd is None or userd.memory is None or error is None or error.memory is None:
            return ERR_INVALID_OBJECT_HANDLE
        if p.gpFifoEntries < 2 or p.userdOffset[0] + m.USERD_BYTES > userd.memory.size:
            return ERR_INVALID_ARGUMENT
        obj.channel = MockChannel(self.gpu, next(self.tokens), p.gpFifoOffset, p.gpFifoEntries, userd.memory,
                                  p.userdOffset[0], error.memory)
        self.gpu.channels[obj.channel.token] = obj.channel
        return OK

    def _control(self, f: FakeFile, arg: io.NVOS54_PARAMETERS) -> None:
        obj = self.objects.get(arg.hObject)
        if obj is None:
            arg.status = ERR_INVALID_OBJECT_HANDLE
            return
        table = {r.RmControl.NV0000_CTRL_CMD_GPU_GET_ID_INFO_V2: (r.NV0000_CTRL_GPU_GET_ID_INFO_V2_PARAMS,
                                                                  self._id_info),
                 r.RmControl.NV0080_CTRL_CMD_GPU_GET_CLASSLIST_V2: (r.NV0080_CTRL_GPU_GET_CLASSLIST_V2_PARAMS,
                                                                    self._classlist),
                 r.RmControl.NV2080_CTRL_CMD_GPU_GET_GID_INFO: (r.NV2080_CTRL_GPU_GET_GID_INFO_PARAMS, self._gid),
                 r.RmControl.NV2080_CTRL_CMD_GR_GET_INFO: (r.NV2080_CTRL_GR_GET_INFO_PARAMS, self._gr_info),
                 r.RmControl.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN: (
                     r.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS, self._token),
                 r.RmControl.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE: (r.NVA06C_CTRL_GPFIFO_SCHEDULE_PARAMS, self._schedule)}
        entry = table.get(arg.cmd)
        if entry is None:
            arg.status = ERR_NOT_SUPPORTED
            return
        params = self._params(arg.params, arg.paramsSize, entry[0])
        arg.status = ERR_INVALID_PARAM_STRUCT if params is None else entry[1](arg.hObject, obj, params)

    def _id_info(self, handle: int, obj: RmObject, p: r.NV0000_CTRL_GPU_GET_ID_INFO_V2_PARAMS) -> int:
        if obj.cls != C.NV01_ROOT_CLIENT or p.gpuId != MOCK_GPU_ID:
            return ERR_INVALID_ARGUMENT
        p.deviceInstance, p.subDeviceInstance = 0, 0
        return OK

    def _classlist(self, handle: int, obj: RmObject, p: r.NV0080_CTRL_GPU_GET_CLASSLIST_V2_PARAMS) -> int:
        if obj.cls != C.NV01_DEVICE_0:
            return ERR_INVALID_ARGUMENT
        p.numClasses = len(self.classes)
        for i, cls in enumerate(self.classes):
            p.classList[i] = cls
        return OK

    def _gid(self, handle: int, obj: RmObject, p: r.NV2080_CTRL_GPU_GET_GID_INFO_PARAMS) -> int:
        if obj.cls != C.NV20_SUBDEVICE_0:
            return ERR_INVALID_ARGUMENT
        p.length = 16
        p.data[:16] = list(MOCK_UUID)
        return OK

    def _gr_info(self, handle: int, obj: RmObject, p: r.NV2080_CTRL_GR_GET_INFO_PARAMS) -> int:
        if obj.cls != C.NV20_SUBDEVICE_0 or not p.grInfoList:
            return ERR_INVALID_ARGUMENT
        infos = (r.NV2080_CTRL_GR_INFO * p.grInfoListSize).from_address(p.grInfoList)
        for info in infos:
            info.data = self.sm_version if info.index == r.NV2080_CTRL_GR_INFO_INDEX_SM_VERSION else 0
        return OK

    def _token(self, handle: int, obj: RmObject, p: r.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS) -> int:
        if obj.channel is None:
            return ERR_INVALID_ARGUMENT
        p.workSubmitToken = obj.channel.token
        return OK

    def _schedule(self, handle: int, obj: RmObject, p: r.NVA06C_CTRL_GPFIFO_SCHEDULE_PARAMS) -> int:
        if obj.cls != C.KEPLER_CHANNEL_GROUP_A:
            return ERR_INVALID_ARGUMENT
        for child in obj.children:
            if self.objects[child].channel is not None:
                self.objects[child].channel.scheduled = bool(p.bEnable)
        return OK

    def _free(self, f: FakeFile, arg: io.NVOS00_PARAMETERS) -> None:
        if arg.hObjectOld not in self.objects:
            arg.status = ERR_INVALID_OBJECT_HANDLE
            return
        self._free_tree(arg.hObjectOld)
        arg.status = OK

    def _free_tree(self, handle: int) -> None:
        obj = self.objects.pop(handle)
        for child in obj.children:
            if child in self.objects:
                self._free_tree(child)
        if obj.memory is not None:
            self.freed_memory += 1
            if obj.cls == C.NV01_MEMORY_LOCAL_USER:
                self.vidmem_used -= obj.memory.size
            obj.memory.release()
        if obj.channel is not None:
            self.gpu.channels.pop(obj.channel.token, None)
        parent = self.objects.get(obj.parent)
        if parent is not None and handle in parent.children:
            parent.children.remove(handle)

    def _map_memory(self, f: FakeFile, arg: io.nv_ioctl_nvos33_parameters_with_fd) -> None:
        obj, target = self.objects.get(arg.params.hMemory), self.files.get(arg.fd)
        if obj is None or obj.memory is None or obj.memory.fd < 0:
            arg.params.status = ERR_INVALID_OBJECT_HANDLE
        elif target is None or target.kind == "uvm" or (target.kind == "gpu" and not target.registered):
            arg.params.status = ERR_INVALID_ARGUMENT
        elif arg.params.length > obj.memory.size:
            arg.params.status = ERR_INVALID_ARGUMENT
        else:
            target.pending_map, arg.params.status = obj.memory, OK

    def _alloc_memory(self, f: FakeFile, arg: io.nv_ioctl_nvos02_parameters_with_fd) -> None:
        p = arg.params
        parent = self.objects.get(p.hObjectParent)
        if p.hClass != C.NV01_MEMORY_SYSTEM_OS_DESCRIPTOR or parent is None or p.hObjectNew in self.objects:
            p.status = ERR_INVALID_ARGUMENT
            return
        self.objects[p.hObjectNew] = RmObject(p.hClass, p.hObjectParent, memory=MockMemory(p.limit + 1, p.pMemory))
        parent.children.append(p.hObjectNew)
        p.status = OK

    # --- UVM -------------------------------------------------------------------------------------------------
    def _uvm(self, request: u.UvmIoctl, p: ctypes.Structure) -> None:
        self.calls.append(f"uvm:{request.name}")
        p.rmStatus = OK
        registrations = (u.UvmIoctl.UVM_REGISTER_GPU, u.UvmIoctl.UVM_REGISTER_GPU_VASPACE,
                         u.UvmIoctl.UVM_REGISTER_CHANNEL)
        if request in registrations:
            uuid = bytes(p.gpu_uuid.uuid if request == u.UvmIoctl.UVM_REGISTER_GPU else p.gpuUuid.uuid)
            p.rmStatus = OK if uuid == MOCK_UUID else ERR_INVALID_ARGUMENT
        elif request == u.UvmIoctl.UVM_MM_INITIALIZE:
            target = self.files.get(p.uvmFd)
            p.rmStatus = OK if target is not None and target.kind == "uvm" else ERR_INVALID_ARGUMENT
        elif request == u.UvmIoctl.UVM_CREATE_EXTERNAL_RANGE:
            clash = any(b < p.base + p.length and p.base < b + n for b, n in self.uvm_ranges.items())
            p.rmStatus = ERR_UVM_ADDRESS_IN_USE if clash else OK
            if not clash:
                self.uvm_ranges[p.base] = p.length
        elif request == u.UvmIoctl.UVM_MAP_EXTERNAL_ALLOCATION:
            p.rmStatus = self._uvm_map(p)
        elif request == u.UvmIoctl.UVM_FREE:
            if self.uvm_ranges.pop(p.base, None) is None:
                p.rmStatus = ERR_INVALID_ARGUMENT
            elif p.base in self.gpu.pages.entries:
                self.gpu.pages.unmap(p.base)

    def _uvm_map(self, p: u.UVM_MAP_EXTERNAL_ALLOCATION_PARAMS) -> int:
        obj = self.objects.get(p.hMemory)
        if self.uvm_ranges.get(p.base) != p.length or obj is None or obj.memory is None:
            return ERR_INVALID_ARGUMENT
        if p.length > obj.memory.size or bytes(p.perGpuAttributes[0].gpuUuid.uuid) != MOCK_UUID:
            return ERR_INVALID_ARGUMENT
        self.gpu.pages.map(p.base, p.length, obj.memory)
        return OK
