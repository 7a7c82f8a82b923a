"""Asking for more memory than the device has: OutOfMemoryError (a MemoryError) naming the size asked and the live
total, raised before the OS would kill the process, and the process stays usable."""
from __future__ import annotations

import contextlib
import resource
import threading

import numpy as np
import pytest

import baregrad as bg
from baregrad import errors
from baregrad.device import get_device
from baregrad.device.host_memory import host_room


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


@contextlib.contextmanager
def _address_space_limit(headroom: int):
    """RLIMIT_AS set to what the process uses now plus `headroom`: a machine with that little memory left."""
    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + headroom, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def test_out_of_memory_error_is_exported_and_a_memory_error():
    assert bg.OutOfMemoryError is errors.OutOfMemoryError
    assert issubclass(bg.OutOfMemoryError, MemoryError) and issubclass(bg.OutOfMemoryError, bg.DeviceError)


@pytest.mark.parametrize("name", ["CPU", "PYTHON"])
def test_allocation_over_the_rlimit_raises_and_process_stays_usable(name):
    if name not in [s.name for s in bg.devices() if s.works]:
        pytest.skip(f"{name} does not work here")
    x = np.arange(1000, dtype=np.float32)
    small = bg.Tensor(x, device=name)
    np.testing.assert_allclose((small + 1).numpy(), x + 1)
    threads_before = set(threading.enumerate())
    asked = 1 << 30
    with _address_space_limit(256 << 20):
        room = host_room()
        assert room is not None and "RLIMIT_AS" in room.limit and room.nbytes < asked
        with pytest.raises(bg.OutOfMemoryError) as info:
            (bg.zeros(asked // 4, device=name) + 1).realize()
        message = str(info.value)
        assert f"{asked} bytes" in message and "live in baregrad buffers" in message and "RLIMIT_AS" in message
        assert isinstance(info.value, MemoryError)
        # still usable under the same limit: the next allocation and op work
        np.testing.assert_allclose((small * 2 + 1).numpy(), x * 2 + 1)
    np.testing.assert_allclose((bg.Tensor(x, device=name) - 3).numpy(), x - 3)
    assert set(threading.enumerate()) - threads_before == set(), "the failed allocation left threads behind"


def test_live_total_counts_what_is_held():
    device = get_device("CPU") if "CPU" in [s.name for s in bg.devices() if s.works] else get_device("PYTHON")
    held = (bg.Tensor(np.ones(1 << 20, dtype=np.float32), device=device.name) + 1).realize()
    with _address_space_limit(64 << 20), pytest.raises(bg.OutOfMemoryError) as info:
        device.alloc(1 << 30)
    in_use = device.live_bytes - device._cached_bytes
    assert in_use >= 4 << 20, "the 4 MiB tensor held is not counted"
    assert f"({in_use} bytes) live" in str(info.value)
    assert held.numpy()[0] == 2


def test_nv_driver_no_memory_status_maps_to_out_of_memory(monkeypatch):
    """The RM's NV_ERR_NO_MEMORY (the mock GPU has 80 GiB of video memory) is an OutOfMemoryError with the size
    asked and the live total; the device keeps working afterwards."""
    from baregrad.device.probes.cuda import cuda_compiler_found
    if not cuda_compiler_found():
        pytest.skip("the NV device needs nvcc or libnvrtc to open; neither found")
    from baregrad.device import _OPEN
    if "NV" in _OPEN and not getattr(_OPEN["NV"], "mock", False):
        pytest.skip("a real NV device is open in this process")
    monkeypatch.setenv("BAREGRAD_NV_MOCK", "1")
    shared = "NV" in _OPEN
    device = get_device("NV")
    try:
        with pytest.raises(bg.OutOfMemoryError) as info:
            device.alloc(100 << 30)
        message = str(info.value)
        assert "NV_ERR_NO_MEMORY" in message and f"{100 << 30} bytes" in message and "live in baregrad" in message
        handle = device.alloc(1 << 20)  # the next allocation works
        device.free(handle, 1 << 20)
    finally:
        if not shared:
            _OPEN.pop("NV", None)
            device.synchronize()
            device.drv.close()


def test_cuda_out_of_memory_code_maps_to_out_of_memory():
    """CUDA_ERROR_OUT_OF_MEMORY from cuMemAlloc is an OutOfMemoryError; other codes stay DeviceErrors. The driver
    library is replaced by a stand-in that answers like libcuda (no GPU here)."""
    from baregrad.device import cuda_api

    class FakeLibcuda:
        def __init__(self, rc: int):
            self.cuMemAlloc_v2 = lambda ptr, size: rc

        def cuGetErrorName(self, rc, out):
            return 1  # "unknown": the message falls back to the number

    driver = cuda_api.Driver.__new__(cuda_api.Driver)  # no cuInit: there is no GPU
    for rc, expected in ((cuda_api.CUDA_ERROR_OUT_OF_MEMORY, bg.OutOfMemoryError), (700, bg.DeviceError)):
        driver.lib = FakeLibcuda(rc)
        with pytest.raises(expected) as info:
            driver.mem_alloc(1 << 40)
        assert isinstance(info.value, MemoryError) == (expected is bg.OutOfMemoryError)
        assert f"CUDA error {rc}" in str(info.value)
