"""Ring reuse: pushbuffer, GPFIFO and kernel-argument space wrap around and wait only when they must."""
from __future__ import annotations

import numpy as np
import pytest

from baregrad.device.nv import NVDriver, driver, gpu
from baregrad.device.nv.mock import MockKernel, register_twin, twin_key
from baregrad.device.nv.ring import RingSpace
from baregrad.errors import DeviceError


def test_ring_space_waits_for_what_it_overwrites():
    waited = []
    ring = RingSpace(1024, waited.append)
    a = ring.take(300)
    ring.used_until(a, 300, 1)
    b = ring.take(300)
    ring.used_until(b, 300, 2)
    assert (a, b, waited) == (0, 512, [])  # 256-byte alignment, nothing overwritten yet
    c = ring.take(300)  # does not fit after 812: wraps to 0 and overwrites the first range
    assert c == 0 and waited == [1]
    ring.used_until(c, 300, 3)
    d = ring.take(100)  # right after c, inside b's old range -> must wait for b
    assert d == 512 and waited == [1, 2]
    with pytest.raises(ValueError):
        ring.take(600)


@pytest.mark.parametrize("size", [1024, 4096, 1000])
def test_ring_space_never_hands_out_bytes_in_flight(size):
    """Random takes against a list of every range handed out: a range is reused only once the timeline value
    of each earlier range it overlaps has been waited for (the GPU may still read the rest)."""
    rng = np.random.default_rng(size)
    waited = [0]
    ring = RingSpace(size, lambda value: waited.append(max(waited[-1], value)))
    handed: list[tuple[int, int, int]] = []
    for value in range(1, 3000):
        nbytes = int(rng.integers(1, size // 2 + 1)) if rng.random() < 0.02 else int(rng.integers(1, size // 64))
        align = int(rng.choice([4, 16]))
        start = ring.take(nbytes, align=align)
        ring.used_until(start, nbytes, value)
        assert start % align == 0 and start + nbytes <= size
        for s, e, v in handed:
            if s < start + nbytes and start < e:
                assert v <= waited[-1], f"[{start}, {start + nbytes}) reused while value {v} may still read it"
        handed = [(s, e, v) for s, e, v in handed if v > waited[-1]] + [(start, start + nbytes, value)]
    assert len(waited) < 3000 // 4  # waits come once per part entered, not once per take


def test_small_rings_wrap_under_load(monkeypatch, cubin_sm90):
    monkeypatch.setattr(gpu, "GPFIFO_ENTRIES", 8)
    monkeypatch.setattr(gpu, "PUSHBUFFER_BYTES", 0x1000)
    monkeypatch.setattr(driver, "KERNARGS_BYTES", 0x2000)

    def add(args, grid, block):
        out, a, b, n = args
        o = np.frombuffer(out, np.float32)
        o[:n] = np.frombuffer(a, np.float32)[:n] + np.frombuffer(b, np.float32)[:n]
    register_twin(twin_key(cubin_sm90, "add"), add)
    with NVDriver(mock=True) as d:
        n = 256
        prg = d.load_program("add", cubin_sm90)
        acc, one = d.alloc(4 * n), d.alloc(4 * n)
        d.copyin(acc, memoryview(np.zeros(n, np.float32)))
        d.copyin(one, memoryview(np.ones(n, np.float32)))
        for _ in range(40):
            prg.launch([acc, acc, one], (1,), (256,), [n])
        out = np.empty(n, np.float32)
        d.copyout(memoryview(out), acc)
        assert (out == 40).all()
        assert d.gpu.compute.put == 40 + 1 and d.gpu.compute.put % 8 == d.gpu.compute.gp_get


def test_close_returns_everything():
    k = MockKernel()
    d = NVDriver(kernel=k)
    d.alloc(1 << 20)
    d.close()
    assert k.objects == {} and k.files == {} and k.gpu.pages.entries == {}


def test_missing_uvm_node_is_named():
    k = MockKernel()
    del k.nodes["/dev/nvidia-uvm"]
    with pytest.raises(DeviceError, match="nvidia-uvm does not exist"):
        NVDriver(kernel=k)
    assert k.files == {}  # the failed bring-up closed what it opened


def test_fast_launch_words_match_commands():
    """The eager launch path writes launch_then_release's dwords; they must equal what Commands builds."""
    from baregrad.device.nv.commands import Commands, launch_then_release
    cmds = Commands().launch(0x12_3456_7800).release(0x10_0000_0040, 0x1_0000_0005)
    assert list(cmds.words) == launch_then_release(0x12_3456_7800, 0x10_0000_0040, 0x1_0000_0005)
