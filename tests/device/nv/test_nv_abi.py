"""ABI bindings against the numbers in NVIDIA's headers (sizes and offsets worked out from the C declarations)."""
from __future__ import annotations

import ctypes

import pytest

from baregrad.device.nv import abi_ioctl as io
from baregrad.device.nv import abi_rm as r
from baregrad.device.nv import abi_uvm as u
from baregrad.device.nv import methods as m


def off(struct: type, name: str) -> int:
    return getattr(struct, name).offset


@pytest.mark.parametrize("struct,size,offsets", [
    (io.NVOS21_PARAMETERS, 32, {"hClass": 12, "pAllocParms": 16, "paramsSize": 24, "status": 28}),
    (io.NVOS54_PARAMETERS, 32, {"cmd": 8, "flags": 12, "params": 16, "paramsSize": 24, "status": 28}),
    (io.NVOS00_PARAMETERS, 16, {"hObjectOld": 8, "status": 12}),
    (io.NVOS33_PARAMETERS, 48, {"hMemory": 8, "offset": 16, "length": 24, "pLinearAddress": 32, "status": 40,
                                "flags": 44}),
    (io.NVOS34_PARAMETERS, 32, {"pLinearAddress": 16, "status": 24, "flags": 28}),
    (io.NVOS02_PARAMETERS, 48, {"hClass": 12, "flags": 16, "pMemory": 24, "limit": 32, "status": 40}),
    (io.nv_ioctl_nvos33_parameters_with_fd, 56, {"fd": 48}),
    (io.nv_ioctl_nvos02_parameters_with_fd, 56, {"fd": 48}),
    (io.nv_ioctl_card_info_t, 72, {"pci_info": 4, "gpu_id": 16, "interrupt_line": 20, "reg_address": 24,
                                   "fb_size": 48, "minor_number": 56, "dev_name": 60}),
    (io.nv_ioctl_rm_api_version_t, 72, {"reply": 4, "versionString": 8}),
    (io.nv_ioctl_register_fd_t, 4, {"ctl_fd": 0}),
    (r.NV0080_ALLOC_PARAMETERS, 56, {"flags": 16, "vaSpaceSize": 24, "vaLimitInternal": 40, "vaMode": 48}),
    (r.NV2080_ALLOC_PARAMETERS, 4, {"subDeviceId": 0}),
    (r.NV_VASPACE_ALLOCATION_PARAMETERS, 56, {"vaSize": 8, "bigPageSize": 32, "vaBase": 40, "pasid": 48}),
    (r.NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS, 20, {"engineType": 12, "bIsCallingContextVgpuPlugin": 16}),
    (r.NV_CTXSHARE_ALLOCATION_PARAMETERS, 12, {"subctxId": 8}),
    (r.NV_MEMORY_DESC_PARAMS, 24, {"addressSpace": 16, "cacheAttrib": 20}),
    (r.NV_CHANNEL_ALLOC_PARAMS, 368, {"gpFifoOffset": 8, "gpFifoEntries": 16, "hContextShare": 24,
                                      "hUserdMemory": 32, "userdOffset": 64, "engineType": 128, "instanceMem": 144,
                                      "hPhysChannelGroup": 240, "errorNotifierMem": 248, "ProcessID": 296,
                                      "encryptIv": 304, "hmacNonce": 328, "tpcConfigID": 360}),
    (r.NV_MEMORY_ALLOCATION_PARAMS, 128, {"attr": 24, "format": 32, "rangeLo": 48, "size": 64, "alignment": 72,
                                          "limit": 88, "address": 96, "hVASpace": 108, "numaNode": 120}),
    (r.NV0000_CTRL_GPU_GET_ID_INFO_V2_PARAMS, 32, {"deviceInstance": 8, "numaId": 28}),
    (r.NV0080_CTRL_GPU_GET_CLASSLIST_V2_PARAMS, 804, {"classList": 4}),
    (r.NV2080_CTRL_GPU_GET_GID_INFO_PARAMS, 268, {"length": 8, "data": 12}),
    (r.NV2080_CTRL_GR_GET_INFO_PARAMS, 32, {"grInfoList": 8, "grRouteInfo": 16}),
    (r.NVA06C_CTRL_GPFIFO_SCHEDULE_PARAMS, 3, {"bSkipEnable": 2}),
    (r.NvNotification, 16, {"info32": 8, "info16": 12, "status": 14}),
    (u.UVM_INITIALIZE_PARAMS, 16, {"rmStatus": 8}),
    (u.UVM_MM_INITIALIZE_PARAMS, 8, {"rmStatus": 4}),
    (u.UVM_REGISTER_GPU_PARAMS, 40, {"numaEnabled": 16, "numaNodeId": 20, "rmCtrlFd": 24, "hSmcPartRef": 32,
                                     "rmStatus": 36}),
    (u.UVM_REGISTER_GPU_VASPACE_PARAMS, 32, {"rmCtrlFd": 16, "hVaSpace": 24, "rmStatus": 28}),
    (u.UVM_REGISTER_CHANNEL_PARAMS, 56, {"hChannel": 24, "base": 32, "length": 40, "rmStatus": 48}),
    (u.UVM_CREATE_EXTERNAL_RANGE_PARAMS, 24, {"rmStatus": 16}),
    (u.UvmGpuMappingAttributes, 36, {"gpuMappingType": 16, "gpuCompressionType": 32}),
    (u.UVM_MAP_EXTERNAL_ALLOCATION_PARAMS, 9264, {"perGpuAttributes": 24, "gpuAttributesCount": 9240,
                                                  "rmCtrlFd": 9248, "hMemory": 9256, "rmStatus": 9260}),
    (u.UVM_FREE_PARAMS, 24, {"rmStatus": 16}),
])
def test_struct_layout(struct, size, offsets):
    assert ctypes.sizeof(struct) == size
    for name, want in offsets.items():
        assert off(struct, name) == want, name


def test_ioctl_numbers():
    # _IOWR('F', 0x2B, 32): the request CUDA's user-space library sends for NV_ESC_RM_ALLOC
    assert io.nv_ioctl_number(io.NV_ESC_RM_ALLOC, ctypes.sizeof(io.NVOS21_PARAMETERS)) == 0xC020462B
    assert io.nv_ioctl_number(io.NV_ESC_RM_CONTROL, 32) == 0xC020462A
    assert io.nv_ioctl_number(io.NV_ESC_CARD_INFO, 72 * 32) == 0xC90046C8
    with pytest.raises(ValueError):
        io.nv_ioctl_number(1, 1 << 14)
    assert u.UvmIoctl.UVM_INITIALIZE == 0x30000001 and u.UvmIoctl.UVM_MAP_EXTERNAL_ALLOCATION == 33
    assert u.UvmIoctl.UVM_CREATE_EXTERNAL_RANGE == 73 and u.UvmIoctl.UVM_REGISTER_GPU == 37


def test_class_ids_and_controls():
    C = r.RmClass
    assert (C.HOPPER_COMPUTE_A, C.HOPPER_DMA_COPY_A, C.HOPPER_CHANNEL_GPFIFO_A, C.HOPPER_USERMODE_A) == \
        (0xCBC0, 0xC8B5, 0xC86F, 0xC661)
    assert (C.AMPERE_COMPUTE_B, C.ADA_COMPUTE_A, C.AMPERE_CHANNEL_GPFIFO_A) == (0xC7C0, 0xC9C0, 0xC56F)
    assert (C.NV01_ROOT_CLIENT, C.NV01_DEVICE_0, C.NV20_SUBDEVICE_0, C.FERMI_VASPACE_A) == (0x41, 0x80, 0x2080, 0x90F1)
    assert r.RmControl.NV0080_CTRL_CMD_GPU_GET_CLASSLIST_V2 == 0x800292
    assert r.RmControl.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN == 0xC36F0108


def test_method_offsets():
    assert (m.HostMethod.SEM_ADDR_LO, m.HostMethod.SEM_EXECUTE) == (0x5C, 0x6C)
    assert (m.ComputeMethod.SEND_PCAS_A, m.ComputeMethod.SEND_SIGNALING_PCAS2_B) == (0x2B4, 0x2C0)
    assert (m.CopyMethod.LAUNCH_DMA, m.CopyMethod.OFFSET_IN_UPPER, m.CopyMethod.LINE_LENGTH_IN) == (0x300, 0x400, 0x418)
    assert (m.USERD_GP_GET_OFFSET, m.USERD_GP_PUT_OFFSET, m.USERMODE_NOTIFY_CHANNEL_PENDING) == (0x88, 0x8C, 0x90)


def test_method_header_roundtrip():
    word = m.method_header(m.Subchannel.COMPUTE, m.ComputeMethod.SEND_PCAS_A, 1)
    assert word == 0x200120AD  # opcode 1 | count 1 | subchannel 1 | 0x2b4 >> 2
    h = m.decode_method_header(m.method_header(4, 0x400, 4))
    assert (h.opcode, h.count, h.subchannel, h.method) == (1, 4, 4, 0x400)
    with pytest.raises(ValueError):
        m.method_header(0, 0x5C, 0)


def test_gp_entry_roundtrip():
    va, n = 0x12_3456_7890, 37
    entry = m.gp_entry(va, n)
    assert entry & 0xFFFFFFFF == 0x34567890 and (entry >> 32) & 0xFF == 0x12 and (entry >> 42) == n
    assert m.decode_gp_entry(entry) == (va, n)
    with pytest.raises(ValueError):
        m.gp_entry(1 << 40, 1)
    with pytest.raises(ValueError):
        m.gp_entry(0x1002, 1)
