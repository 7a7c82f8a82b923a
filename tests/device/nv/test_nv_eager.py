"""Eager launches from prebuilt bytes (nv/eager.py): the bytes equal the general path's, and launches run right
on the mock, around copies and after local memory grows, with the command memory in video or system memory."""
from __future__ import annotations

import ctypes
import struct

import numpy as np
import pytest

from baregrad.device.nv import NVDriver
from baregrad.device.nv.commands import Commands, launch_then_release
from baregrad.device.nv.eager import SLOTS
from baregrad.device.nv.memory import COMMAND_MEMORY_ENV, MemKind
from baregrad.device.nv.mock import register_twin, twin_key
from baregrad.device.nv.qmd import decode_launch
from baregrad.errors import DeviceError

RNG = np.random.default_rng(7)


def neg_twin(args, grid, block):
    out, a = args
    n = grid[0] * block[0]
    np.frombuffer(out, np.float32)[:n] = -np.frombuffer(a, np.float32)[:n]


@pytest.fixture
def drv():
    d = NVDriver(mock=True, timeout_s=2.0)
    yield d
    d.close()


@pytest.mark.parametrize("grid,block", [((1, 1, 1), (32, 1, 1)), ((70000, 3, 2), (128, 2, 4))])
def test_bytes_match_the_general_path(drv, cubin_sm90, grid, block):
    prg = drv.load_program("neg", cubin_sm90)
    eager = prg.eager_launch(grid, block)
    for _ in range(5):
        pointers = [int(x) << 8 for x in RNG.integers(1, 1 << 39, size=2)]
        base = int(RNG.integers(1, 1 << 31)) << 9
        value = int(RNG.integers(1, 1 << 62))
        view = memoryview(bytearray(eager.size + 512))
        eager.write(view, 512, base, pointers, value)
        cb0 = prg.constant_bank0(pointers, (), grid, block)
        assert bytes(view[512:512 + len(cb0)]) == cb0
        qmd = prg.qmd(grid, block, base, len(cb0))
        at = 512 + eager.cb_size
        assert bytes(view[at:at + len(qmd)]) == qmd
        assert decode_launch(qmd).cbufs[0] == (base, (len(cb0) + 15) // 16 * 16)
        words = launch_then_release(base + eager.cb_size, drv.sem_va, value)
        at = 512 + eager.words_at
        assert list(struct.unpack_from(f"<{len(words)}I", view, at)) == words


def test_a_filled_slot_holds_the_whole_launch(drv, cubin_sm90):
    """prepare() changes only addresses and release value: the slot then holds what write() lays out whole."""
    register_twin(twin_key(cubin_sm90, "neg"), neg_twin)
    prg = drv.load_program("neg", cubin_sm90)
    eager = prg.eager_launch((2, 1, 1), (128, 1, 1))
    x, y, z = drv.alloc(1024), drv.alloc(1024), drv.alloc(1024)
    drv.launch_eager(eager, [x.va, y.va])  # the copy channel ran last (set-up): this one takes the general path
    sets = ([y.va, x.va], [z.va, y.va], [z.va, y.va], [x.va, z.va], [y.va, z.va])  # slots see new addresses
    for i in range(2 * SLOTS + 1):
        pointers = list(sets[i % len(sets)])
        drv.launch_eager(eager, pointers)
        slot = (eager.turn - 1) % SLOTS
        assert slot == i % SLOTS
        at = eager.slots.va + slot * eager.stride
        expected = memoryview(bytearray(eager.size))
        eager.write(expected, 0, at, pointers, drv.timeline.last)
        assert bytes((ctypes.c_char * eager.size).from_address(at)) == bytes(expected)
        assert drv.gpu.compute.ring[(drv.gpu.compute.put - 1) % drv.gpu.compute.entries] == eager.entries[slot]


def test_a_slot_is_reused_only_after_the_gpu_is_done_with_it(cubin_sm90):
    """With the GPU stalled, SLOTS launches of one shape queue up; the next one waits for the first (and times
    out here) instead of overwriting a launch the GPU has not run."""
    register_twin(twin_key(cubin_sm90, "neg"), neg_twin)
    with NVDriver(mock=True, timeout_s=0.2) as d:
        prg = d.load_program("neg", cubin_sm90)
        eager = prg.eager_launch((1, 1, 1), (32, 1, 1))
        a, b = d.alloc(128), d.alloc(128)
        d._end(d.gpu.compute, Commands().acquire(d.timeline.sem.va, 1 << 40))  # noqa: SLF001 - stall the GPU
        for _ in range(SLOTS):
            d.launch_eager(eager, [a.va, b.va])
        first = eager.value_words[0].value
        with pytest.raises(DeviceError, match="timed out"):
            d.launch_eager(eager, [b.va, a.va])
        assert eager.value_words[0].value == first and eager.written[0] == [a.va, b.va]
        d.timeline.sem.mv[:8] = d.timeline.last.to_bytes(8, "little")  # let close() finish


def test_retired_slots_come_back_once_the_gpu_passed_them(drv):
    block = drv.take_launch_slots(8192)
    drv.retire_launch_slots(block, drv.timeline.last + 1)  # a launch from it may still be queued
    assert drv.take_launch_slots(8192) is not block
    drv.synchronize()
    drv._end(drv.gpu.compute, Commands())  # noqa: SLF001 - the timeline moves past the retired value
    drv.synchronize()
    assert drv.take_launch_slots(8192) is block


def test_kernel_with_values_takes_the_general_path(drv, cubin_sm90):
    assert drv.load_program("add", cubin_sm90).eager_launch((1, 1, 1), (32, 1, 1)) is None


def test_launches_around_copies_and_local_memory_growth(drv, cubin_sm90):
    register_twin(twin_key(cubin_sm90, "neg"), neg_twin)
    register_twin(twin_key(cubin_sm90, "spill"), lambda args, grid, block: None)
    n = 512
    x = RNG.random(n, dtype=np.float32)
    buf_x, buf_y = drv.alloc(4 * n), drv.alloc(4 * n)
    prg = drv.load_program("neg", cubin_sm90)
    out = np.empty(n, np.float32)
    for step in range(4):
        drv.copyin(buf_x, memoryview(x))  # the copy channel ran last: the launch must wait for it
        prg.launch([buf_y, buf_x], (n // 128,), (128,))
        prg.launch([buf_x, buf_y], (n // 128,), (128,))  # same channel: straight from the prebuilt bytes
        prg.launch([buf_y, buf_x], (n // 128,), (128,))
        drv.copyout(memoryview(out), buf_y)
        np.testing.assert_array_equal(out, -x)
        if step == 1:  # a program with a stack grows local memory: the prebuilt QMDs must follow
            drv.load_program("spill", cubin_sm90)
            assert drv.local_bytes_per_thread > 0
        x = RNG.random(n, dtype=np.float32)
    eager = prg._eager[((n // 128, 1, 1), (128, 1, 1))]  # noqa: SLF001 - what the last launches used
    assert eager.local_bytes == drv.local_bytes_per_thread
    blob = memoryview(bytearray(eager.size))
    eager.write(blob, 0, 0, [0, 0], 1)
    qmd = decode_launch(bytes(blob[eager.cb_size:eager.words_at]))
    assert qmd.local_bytes_per_thread == drv.local_bytes_per_thread


@pytest.mark.parametrize("placement,kind", [("vidmem", MemKind.VIDMEM_CPU), ("sysmem", MemKind.SYSMEM)])
def test_command_memory_placement(monkeypatch, cubin_sm90, placement, kind):
    """BAREGRAD_NV_COMMAND_MEMORY moves the rings, pushbuffers, kernel arguments and launch slots; launches still
    run right."""
    monkeypatch.setenv(COMMAND_MEMORY_ENV, placement)
    register_twin(twin_key(cubin_sm90, "neg"), neg_twin)
    with NVDriver(mock=True, timeout_s=2.0) as d:
        ch = d.gpu.compute
        assert {ch.rings.area.kind, ch.rings.pushbuf.kind, d.kernargs.kind, d.launch_slots.kind} == {kind}
        x = RNG.random(256, dtype=np.float32)
        buf_x, buf_y = d.alloc(x.nbytes), d.alloc(x.nbytes)
        d.copyin(buf_x, memoryview(x))
        prg = d.load_program("neg", cubin_sm90)
        for _ in range(3):
            prg.launch([buf_y, buf_x], (2,), (128,))
            prg.launch([buf_x, buf_y], (2,), (128,))
        out = np.empty_like(x)
        d.copyout(memoryview(out), buf_x)
        np.testing.assert_array_equal(out, x)


def test_unknown_command_memory_is_named(monkeypatch):
    monkeypatch.setenv(COMMAND_MEMORY_ENV, "l2")
    with pytest.raises(DeviceError, match="BAREGRAD_NV_COMMAND_MEMORY='l2'"):
        NVDriver(mock=True)
