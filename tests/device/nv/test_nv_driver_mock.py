"""The whole driver path on the mock kernel module: memory plan, copies, launches of real cubins run by CPU
twins, ordering, synchronization, freeing and reuse, and the error paths."""
from __future__ import annotations

import numpy as np
import pytest

from baregrad.device.nv import NVDriver
from baregrad.device.nv.abi_rm import RmClass
from baregrad.device.nv.commands import Commands
from baregrad.device.nv.kernel_iface import RealKernel
from baregrad.device.nv.methods import ComputeMethod
from baregrad.device.nv.mock import HOPPER_CLASSES, MockKernel, register_twin, twin_key
from baregrad.device.nv.qmd import decode_launch
from baregrad.errors import ArgumentError, DeviceError

RNG = np.random.default_rng(0)


def f32(view: memoryview) -> np.ndarray:
    return np.frombuffer(view, dtype=np.float32)


def add_twin(args, grid, block):
    out, a, b, n = args
    assert grid[0] * block[0] >= n, "launch does not cover n"
    f32(out)[:n] = f32(a)[:n] + f32(b)[:n]


def scale_twin(args, grid, block):
    out, n, x, k = args
    f32(out)[:n] = f32(x)[:n] * np.float32(k)


@pytest.fixture
def drv():
    d = NVDriver(mock=True, timeout_s=2.0)
    yield d
    d.close()


def upload(d: NVDriver, arr: np.ndarray, host_visible: bool = False):
    buf = d.alloc(arr.nbytes, host_visible=host_visible)
    d.copyin(buf, memoryview(arr))
    return buf


def download(d: NVDriver, buf, n: int) -> np.ndarray:
    out = np.empty(n, np.float32)
    d.copyout(memoryview(out), buf)
    return out


def test_open_reports_hopper(drv):
    assert drv.arch == "sm_90"
    assert drv.class_names["compute"].startswith("HOPPER_COMPUTE_A") and drv.class_names["qmd"] == "v4"
    assert drv.class_names["copy"].startswith("HOPPER_DMA_COPY_A")
    assert drv.gpu.driver_version == "580.159.04"


def test_elementwise_add(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "add"), add_twin)
    n = 3000
    a, b = RNG.random(n, dtype=np.float32), RNG.random(n, dtype=np.float32)
    ba, bb, bo = upload(drv, a), upload(drv, b), drv.alloc(4 * n)
    prg = drv.load_program("add", cubin_sm90)
    seconds = prg.launch([bo, ba, bb], global_size=((n + 255) // 256,), local_size=(256,), vals=[n], wait=True)
    assert isinstance(seconds, float) and seconds >= 0
    np.testing.assert_array_equal(download(drv, bo, n), a + b)
    launch = drv.kif.gpu.launches[-1]
    assert (launch.grid, launch.block, launch.program_va) == ((12, 1, 1), (256, 1, 1), prg.program_va)
    assert launch.cbuf0[1] >= 0x210 + 28  # constant bank 0 reaches the last parameter


def test_interleaved_parameters_and_shared_memory(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "scale"), scale_twin)
    n = 500
    x = RNG.random(n, dtype=np.float32)
    bx, bo = upload(drv, x), drv.alloc(4 * n)
    drv.load_program("scale", cubin_sm90).launch([bo, bx], (2,), (256,), vals=[n, -3])
    np.testing.assert_array_equal(download(drv, bo, n), x * np.float32(-3))


def test_ordering_of_launches_and_copies(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "add"), add_twin)
    n = 1024
    prg = drv.load_program("add", cubin_sm90)
    a = RNG.random(n, dtype=np.float32)
    acc, ba = drv.alloc(4 * n), upload(drv, a)
    drv.copyin(acc, memoryview(np.zeros(n, np.float32)))
    expected = np.zeros(n, np.float32)
    for step in range(6):  # every step: launch reads the copy just issued, next copy overwrites its input
        prg.launch([acc, acc, ba], (4,), (256,), [n])
        expected = expected + a
        a = RNG.random(n, dtype=np.float32)
        drv.copyin(ba, memoryview(a))
    drv.synchronize()
    np.testing.assert_array_equal(download(drv, acc, n), expected)
    assert len(drv.kif.gpu.launches) == 6


def test_large_copies_cross_staging_chunks(drv):
    big = RNG.integers(0, 2**31, size=3 << 20, dtype=np.int32)  # 12 MiB: several staging halves
    buf = upload(drv, big)
    assert buf.alloc.size % (2 << 20) == 0  # big buffers get 2 MiB pages
    out = np.empty_like(big)
    drv.copyout(memoryview(out), buf)
    np.testing.assert_array_equal(out, big)


def test_host_visible_buffer_is_shared(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "add"), add_twin)
    n = 64
    a = RNG.random(n, dtype=np.float32)
    ha, ho = upload(drv, a, host_visible=True), drv.alloc(4 * n, host_visible=True)
    drv.load_program("add", cubin_sm90).launch([ho, ha, ha], (1,), (64,), [n])
    np.testing.assert_array_equal(download(drv, ho, n), a + a)
    assert 0x10_0000_0000 <= ho.va < 0x20_0000_0000  # the CPU/GPU shared window


def test_free_reuses_then_returns_memory(cubin_sm90):
    with NVDriver(mock=True, cache_bytes=1 << 20) as d:
        first = d.alloc(512 << 10)  # above the small-buffer size: an RM memory object of its own
        d.free(first)
        again = d.alloc((512 << 10) - 100)  # same rounded size: served from the cache
        assert again.va == first.va
        freed_before = d.kif.freed_memory
        big = d.alloc(4 << 20)
        d.free(big)  # over the cache limit: goes back to the kernel driver
        assert d.kif.freed_memory == freed_before + 1
        assert big.va not in d.kif.gpu.pages.entries
        d.free(again)
        d.trim()
        assert d.kif.freed_memory == freed_before + 2


def test_small_buffers_share_slabs_and_are_reused():
    with NVDriver(mock=True) as d:
        slabs = len(d.gpu.memory.live)
        bufs = [d.alloc(1000) for _ in range(8)]
        assert len(d.gpu.memory.live) == slabs + 1  # one 2 MiB slab, no RM object per buffer
        assert len({b.va for b in bufs}) == 8 and all(b.va % 256 == 0 for b in bufs)
        d.free(bufs[3])
        assert d.alloc(900).va == bufs[3].va  # same size class: the freed block comes back
        data = (bytes(range(256)) * 4)[:1000]
        d.copyin(bufs[5], memoryview(data))
        out = bytearray(1000)
        d.copyout(memoryview(out), bufs[5])
        assert bytes(out) == data


def test_environment_variable_selects_mock(monkeypatch):
    monkeypatch.setenv("BAREGRAD_NV_MOCK", "1")
    with NVDriver() as d:
        assert isinstance(d.kif, MockKernel)


def test_ampere_mock_uses_qmd_v3(cubin_sm86):
    register_twin(twin_key(cubin_sm86, "add"), add_twin)
    ampere = tuple(c for c in HOPPER_CLASSES if c not in (RmClass.HOPPER_COMPUTE_A, RmClass.HOPPER_DMA_COPY_A,
                                                          RmClass.HOPPER_CHANNEL_GPFIFO_A, RmClass.HOPPER_USERMODE_A))
    ampere += (RmClass.AMPERE_COMPUTE_B, RmClass.AMPERE_DMA_COPY_B, RmClass.AMPERE_CHANNEL_GPFIFO_A,
               RmClass.AMPERE_USERMODE_A)
    with NVDriver(kernel=MockKernel(classes=ampere, sm_version=0x806)) as d:
        assert d.arch == "sm_86" and d.class_names["qmd"] == "v3"
        n = 300
        a = RNG.random(n, dtype=np.float32)
        ba, bo = upload(d, a), d.alloc(4 * n)
        d.load_program("add", cubin_sm86).launch([bo, ba, ba], (2,), (256,), [n])
        np.testing.assert_array_equal(download(d, bo, n), a + a)


def test_kernel_with_local_memory_gets_it(drv, cubin_sm90):
    from baregrad.device.nv.program import STACK_TOP, STACK_WINDOW_BYTES
    prg = drv.load_program("spill", cubin_sm90)
    # the stack grows down from STACK_TOP and local memory is backed from the window's top: the bytes above the
    # stack top count too (without them every kernel with a stack frame faulted on an H100)
    stack_reserve = STACK_WINDOW_BYTES - STACK_TOP
    assert prg.kernel.local_bytes >= 256
    assert drv.local_bytes_per_thread >= prg.kernel.local_bytes + stack_reserve
    compute = next(ch for ch in drv.kif.gpu.channels.values() if RmClass.HOPPER_COMPUTE_A in ch.objects)
    lo = compute.regs[(1, ComputeMethod.SET_SHADER_LOCAL_MEMORY_B)]
    hi = compute.regs[(1, ComputeMethod.SET_SHADER_LOCAL_MEMORY_A)]
    assert (hi << 32 | lo) == drv.local_memory.va
    raw = prg.qmd((1, 1, 1), (32, 1, 1), drv.kernargs.va, 0x300)
    assert decode_launch(raw).local_bytes_per_thread == drv.local_bytes_per_thread


# --- bad paths ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel", [MockKernel, RealKernel])
def test_missing_control_device(kernel):
    with pytest.raises(DeviceError, match="/nonexistent/nvidiactl does not exist"):
        NVDriver(kernel=kernel(), dev_root="/nonexistent")


def test_missing_compute_class_is_named():
    classes = tuple(c for c in HOPPER_CLASSES if c != RmClass.HOPPER_COMPUTE_A)
    with pytest.raises(DeviceError, match="no compute class.*HOPPER_COMPUTE_A \\(0xcbc0\\)"):
        NVDriver(kernel=MockKernel(classes=classes))


def test_semaphore_that_never_arrives_times_out(drv):
    with pytest.raises(DeviceError, match="timed out after 0.2 s.*timeline value"):
        drv.timeline.wait(drv.timeline.last + 5, timeout_s=0.2)


def test_gpu_side_wait_that_never_ends_times_out():
    with NVDriver(mock=True, timeout_s=0.2) as d:
        cmds = Commands().acquire(d.timeline.sem.va, 1 << 40)  # the GPU stalls on a value nobody releases
        d._end(d.gpu.compute, cmds)
        with pytest.raises(DeviceError, match="timed out.*compute: GPPut"):
            d.synchronize()
        d.timeline.sem.mv[:8] = (d.timeline.last).to_bytes(8, "little")  # let close() finish


def test_gpu_fault_is_reported(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "add"), add_twin)
    prg = drv.load_program("add", cubin_sm90)
    good = drv.alloc(4096)
    prg.launch([good, 0xDEAD_0000_0000, good], (1,), (32,), [32])  # an address no one mapped
    with pytest.raises(DeviceError, match="GPU fault on the compute channel.*MMU"):
        drv.synchronize()
    assert "unmapped address 0xdead00000000" in drv.kif.gpu.faults[-1]
    drv.closed = True  # the channel is dead; skip the final synchronize


def test_kernel_without_twin_faults(drv, cubin_sm90):
    drv.load_program("add", cubin_sm90).launch([drv.alloc(64)] * 3, (1,), (1,), [1])
    with pytest.raises(DeviceError, match="GR_EXCEPTION"):
        drv.synchronize()
    assert "no CPU twin" in drv.kif.gpu.faults[-1]
    drv.closed = True


def test_bad_launch_arguments(drv, cubin_sm90):
    prg = drv.load_program("add", cubin_sm90)
    buf = drv.alloc(64)
    with pytest.raises(ArgumentError, match="3 pointer"):
        prg.launch([buf], (1,), (1,), [1])
    with pytest.raises(ArgumentError, match="local_size"):
        prg.launch([buf] * 3, (1,), (2048,), [1])
    with pytest.raises(ArgumentError):
        drv.copyin(buf, memoryview(bytes(65)))


def test_wrong_architecture_cubin(drv, cubin_sm86, cubin_sm90):
    with NVDriver(kernel=MockKernel(sm_version=0x806, classes=HOPPER_CLASSES)) as ampere_gpu:
        with pytest.raises(DeviceError, match="compiled for sm_90; this GPU is sm_86"):
            ampere_gpu.load_program("add", cubin_sm90)
