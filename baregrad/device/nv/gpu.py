"""Bringing a GPU up through the kernel driver: client, device, subdevice, classes, VA space, UVM, channels.

The order follows what the RM requires: a root client owns a device, which owns a subdevice and a VA space;
UVM learns about the GPU and the VA space; a channel group on the graphics runlist holds a context share and two
GPFIFO channels (compute and copy), each with its engine object, work-submit token and error notifier.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from ...errors import DeviceError
from . import abi_ioctl as io
from . import abi_rm as r
from . import methods as m
from .channel import Channel, ChannelRings
from .classes import ClassChoice, choose_classes
from .kernel_iface import KernelInterface
from .memory import DeviceHandles, GpuMemory, MemKind, command_memory
from .rm import ResourceManager
from .uvm import Uvm
from .va_plan import PAGE, PROCESS_VA_PLAN

VASPACE_BASE, VASPACE_SIZE = 0x1000, 0x1FFFFFB000000
GPFIFO_ENTRIES = 0x400
PUSHBUFFER_BYTES = 0x20_0000
UVM_CHANNEL_RESERVE = 0x400_0000  # address range UVM may use for a channel's internal buffers


@dataclass(frozen=True)
class DevicePaths:
    """Where the device nodes are; tests point `root` at a nonexistent directory to check the error."""
    root: str = "/dev"

    @property
    def ctl(self) -> str:
        return f"{self.root}/nvidiactl"

    @property
    def uvm(self) -> str:
        return f"{self.root}/nvidia-uvm"

    def gpu(self, minor: int) -> str:
        return f"{self.root}/nvidia{minor}"


@dataclass(frozen=True)
class GrInfo:
    sm_major: int
    sm_minor: int

    @property
    def arch(self) -> str:
        return f"sm_{self.sm_major}{self.sm_minor}"

    @property
    def sm(self) -> int:
        return self.sm_major * 10 + self.sm_minor


def _open(kif: KernelInterface, path: str, what: str) -> int:
    try:
        return kif.open(path)
    except FileNotFoundError as e:
        raise DeviceError(f"NV: {path} does not exist: {what}. Is the NVIDIA kernel module (open, 580 series) "
                          f"loaded and is this a machine with an NVIDIA GPU?") from e
    except OSError as e:
        raise DeviceError(f"NV: cannot open {path} ({what}): {e}") from e


class GpuContext:
    """All kernel-driver objects of one opened GPU."""

    def __init__(self, kif: KernelInterface, index: int, paths: DevicePaths):
        self.kif, self.paths, self.index = kif, paths, index
        self.reserved: list[tuple[int, int]] = []  # host-window ranges held without a mapping
        self.fds: list[int] = []
        self.rm: ResourceManager | None = None
        self.memory: GpuMemory | None = None
        self.usermode_map = 0
        try:
            self._bring_up()
        except BaseException:
            self.close()
            raise

    def _bring_up(self) -> None:
        kif, paths, index = self.kif, self.paths, self.index
        self.ctl_fd = _open(kif, paths.ctl, "the NVIDIA control device")
        self.fds.append(self.ctl_fd)
        self.rm = ResourceManager(kif, self.ctl_fd, paths.ctl)
        self.driver_version = self._driver_version()
        self.minor, gpu_id, self.pci_device_id = self._find_card(index)
        self.dev_path = paths.gpu(self.minor)
        self.dev_fd = _open(kif, self.dev_path, f"GPU {index}")
        self.fds.append(self.dev_fd)
        self._register_fd(self.dev_fd)
        instance = self.rm.control(self.rm.client, r.RmControl.NV0000_CTRL_CMD_GPU_GET_ID_INFO_V2,
                                   r.NV0000_CTRL_GPU_GET_ID_INFO_V2_PARAMS(gpuId=gpu_id)).deviceInstance
        self.device = self.rm.alloc(self.rm.client, r.RmClass.NV01_DEVICE_0, r.NV0080_ALLOC_PARAMETERS(
            deviceId=instance, hClientShare=self.rm.client, vaMode=r.NV_DEVICE_ALLOCATION_VAMODE_MULTIPLE_VASPACES))
        self.subdevice = self.rm.alloc(self.device, r.RmClass.NV20_SUBDEVICE_0, r.NV2080_ALLOC_PARAMETERS())
        self.class_list = self._class_list()
        self.classes: ClassChoice = choose_classes(set(self.class_list))
        self.gr = self._gr_info()
        self.uuid = self._uuid()
        self.uvm = self._open_uvm()
        self.vaspace = self._vaspace()
        handles = DeviceHandles(self.device, self.uuid, self.ctl_fd, self.dev_fd, self.dev_path, paths.ctl)
        self.memory = GpuMemory(kif, self.rm, self.uvm, handles, PROCESS_VA_PLAN)
        usermode = self.rm.alloc(self.subdevice, self.classes.usermode)
        self.usermode_map = self.memory.map_usermode(usermode, m.USERMODE_MAP_BYTES)
        self.doorbell = self.usermode_map + m.USERMODE_NOTIFY_CHANNEL_PENDING
        self.group, self.ctxshare = self._channel_group()
        self.compute = self._channel("compute", self.classes.compute)
        self.copy = self._channel("copy", self.classes.copy)
        self.rm.control(self.group, r.RmControl.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE,
                        r.NVA06C_CTRL_GPFIFO_SCHEDULE_PARAMS(bEnable=1))

    def _register_fd(self, fd: int) -> None:
        arg = io.nv_ioctl_register_fd_t(ctl_fd=self.ctl_fd)
        try:
            self.kif.ioctl(fd, io.nv_ioctl_number(io.NV_ESC_REGISTER_FD, ctypes.sizeof(arg)), arg)
        except OSError as e:
            raise DeviceError(f"NV: NV_ESC_REGISTER_FD on {self.dev_path} failed: {e}") from e

    def _driver_version(self) -> str:
        arg = io.nv_ioctl_rm_api_version_t(cmd=io.NV_RM_API_VERSION_CMD_QUERY)
        try:
            self.kif.ioctl(self.ctl_fd, io.nv_ioctl_number(io.NV_ESC_CHECK_VERSION_STR, ctypes.sizeof(arg)), arg)
        except OSError:
            return "unknown"  # only a diagnostic; older modules may refuse the query
        return arg.versionString.decode(errors="replace")

    def _find_card(self, index: int) -> tuple[int, int, int]:
        """The card's device-file minor number, RM gpu id and PCI device id (which board it is: device/peak.py)."""
        cards = (io.nv_ioctl_card_info_t * io.MAX_CARDS)()
        try:
            self.kif.ioctl(self.ctl_fd, io.nv_ioctl_number(io.NV_ESC_CARD_INFO, ctypes.sizeof(cards)), cards)
        except OSError as e:
            raise DeviceError(f"NV: NV_ESC_CARD_INFO failed on {self.paths.ctl}: {e}") from e
        valid = [c for c in cards if c.valid]
        if index >= len(valid):
            raise DeviceError(f"NV: GPU index {index} requested but the kernel driver reports {len(valid)} GPU(s)")
        return valid[index].minor_number, valid[index].gpu_id, valid[index].pci_info.device_id

    def _class_list(self) -> list[int]:
        p = self.rm.control(self.device, r.RmControl.NV0080_CTRL_CMD_GPU_GET_CLASSLIST_V2,
                            r.NV0080_CTRL_GPU_GET_CLASSLIST_V2_PARAMS())
        return list(p.classList[:min(p.numClasses, r.NV0080_CTRL_GPU_CLASSLIST_MAX_SIZE)])

    def _gr_info(self) -> GrInfo:
        info = r.NV2080_CTRL_GR_INFO(index=r.NV2080_CTRL_GR_INFO_INDEX_SM_VERSION)
        self.rm.control(self.subdevice, r.RmControl.NV2080_CTRL_CMD_GR_GET_INFO, r.NV2080_CTRL_GR_GET_INFO_PARAMS(
            grInfoListSize=1, grInfoList=ctypes.addressof(info)))
        minor = info.data & 0xFF
        return GrInfo(sm_major=(info.data >> 8) & 0xFF, sm_minor=minor >> 4 if minor > 0xF else minor)

    def _uuid(self) -> bytes:
        p = self.rm.control(self.subdevice, r.RmControl.NV2080_CTRL_CMD_GPU_GET_GID_INFO,
                            r.NV2080_CTRL_GPU_GET_GID_INFO_PARAMS(
                                flags=r.NV2080_GPU_CMD_GPU_GET_GID_FLAGS_FORMAT_BINARY, length=16))
        return bytes(p.data[:16])

    def _open_uvm(self) -> Uvm:
        uvm = Uvm(self.kif, _open(self.kif, self.paths.uvm, "NVIDIA unified memory (nvidia-uvm module)"),
                  self.paths.uvm)
        self.fds.append(uvm.fd)
        uvm.initialize()
        mm_fd = _open(self.kif, self.paths.uvm, "NVIDIA unified memory (second file for the mm binding)")
        self.fds.append(mm_fd)
        try:
            uvm.mm_initialize(mm_fd)
        except DeviceError:
            pass  # older modules or already-bound processes refuse this; external mappings work without it
        uvm.register_gpu(self.uuid, self.ctl_fd, self.rm.client)
        return uvm

    def _vaspace(self) -> int:
        vaspace = self.rm.alloc(self.device, r.RmClass.FERMI_VASPACE_A, r.NV_VASPACE_ALLOCATION_PARAMETERS(
            vaBase=VASPACE_BASE, vaSize=VASPACE_SIZE,
            flags=(r.NV_VASPACE_ALLOCATION_FLAGS_ENABLE_PAGE_FAULTING
                   | r.NV_VASPACE_ALLOCATION_FLAGS_IS_EXTERNALLY_OWNED)))
        self.uvm.register_vaspace(self.uuid, self.ctl_fd, self.rm.client, vaspace)
        return vaspace

    def _channel_group(self) -> tuple[int, int]:
        group = self.rm.alloc(self.device, r.RmClass.KEPLER_CHANNEL_GROUP_A, r.NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS(
            engineType=r.NV2080_ENGINE_TYPE_GRAPHICS))
        ctxshare = self.rm.alloc(group, r.RmClass.FERMI_CONTEXT_SHARE_A, r.NV_CTXSHARE_ALLOCATION_PARAMETERS(
            hVASpace=self.vaspace, flags=r.NV_CTXSHARE_ALLOCATION_FLAGS_SUBCONTEXT_ASYNC))
        return group, ctxshare

    def _channel(self, name: str, engine_class: int) -> Channel:
        kind = command_memory()
        area = self.memory.alloc(GPFIFO_ENTRIES * m.GP_ENTRY_BYTES + m.USERD_BYTES, kind)
        rings = ChannelRings(area=area, entries=GPFIFO_ENTRIES, pushbuf=self.memory.alloc(PUSHBUFFER_BYTES, kind))
        notifier = self.memory.alloc(PAGE, MemKind.SYSMEM)
        params = r.NV_CHANNEL_ALLOC_PARAMS(hObjectError=notifier.handle, hObjectBuffer=area.handle,
                                           gpFifoOffset=area.va, gpFifoEntries=GPFIFO_ENTRIES,
                                           hContextShare=self.ctxshare)
        params.hUserdMemory[0], params.userdOffset[0] = area.handle, rings.userd_offset
        handle = self.rm.alloc(self.group, self.classes.gpfifo, params)
        self.rm.alloc(handle, engine_class)
        token = self.rm.control(handle, r.RmControl.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN,
                                r.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS()).workSubmitToken
        reserve = self.memory.plan.host.take(UVM_CHANNEL_RESERVE, PAGE)
        self.reserved.append((reserve, UVM_CHANNEL_RESERVE))
        self.uvm.register_channel(self.uuid, self.ctl_fd, self.rm.client, handle, reserve, UVM_CHANNEL_RESERVE)
        return Channel(name=name, kif=self.kif, rings=rings, token=token, doorbell_addr=self.doorbell, handle=handle,
                       error_notifier=notifier)

    def close(self) -> None:
        """Unmap what we mapped, free the root client (the RM frees everything under it), close our files."""
        if self.memory is not None:
            self._release_addresses()
        if self.usermode_map:
            self.kif.munmap(self.usermode_map, m.USERMODE_MAP_BYTES)
            self.usermode_map = 0
        try:
            if self.rm is not None and self.rm.client:
                self.rm.free(self.rm.client, self.rm.client)
                self.rm.client = 0
        finally:
            while self.fds:
                self.kif.close(self.fds.pop())

    def _release_addresses(self) -> None:
        plan = self.memory.plan
        for alloc in list(self.memory.live.values()):
            if alloc.kind.cpu_visible:
                self.kif.munmap(alloc.va, alloc.size)
            plan.window(alloc.kind.cpu_visible).give_back(alloc.va, alloc.size)
        for va, size in self.reserved:
            plan.host.give_back(va, size)
        self.memory.live.clear()
        self.reserved.clear()
