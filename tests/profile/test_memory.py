"""bg.memory_summary() and the out-of-memory message: live and peak bytes, the largest buffers and who made them."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import get_device
from baregrad.engine.buffer import Buffer
from baregrad.errors import DeviceError
from baregrad.ir import node as node_module
from baregrad.profile import memory


@pytest.fixture(autouse=True)
def without_earlier_garbage():
    """Earlier tests' dead graphs hold their buffers until the node table is swept: these tests rank live buffers."""
    gc.collect()
    node_module.sweep()


def test_live_and_peak_follow_buffers(prof_device: str) -> None:
    before = memory.LIVE.get(prof_device, 0)
    n = 1 << 16
    x = bg.Tensor(np.random.rand(n).astype(np.float32), device=prof_device).realize()
    assert memory.LIVE[prof_device] == before + 4 * n
    y = (x * 3).realize()
    assert memory.LIVE[prof_device] == before + 8 * n
    assert memory.PEAK[prof_device] >= before + 8 * n
    np.testing.assert_allclose(y.numpy(), x.numpy() * 3, rtol=1e-6)
    # a buffer that gives its memory back leaves the live count where it was
    buf = Buffer(get_device(prof_device), bg.float32, (1000,))
    live = memory.LIVE[prof_device]
    assert buf.handle is not None and memory.LIVE[prof_device] == live + 4000
    del buf
    assert memory.LIVE[prof_device] == live


def test_summary_names_the_largest_buffer_and_its_maker(prof_device: str) -> None:
    with bg.profile():
        big = bg.Tensor(np.ones((3000, 2570), np.float32), device=prof_device)  # larger than any other live one
        doubled = (big * 2).realize()
    text = bg.memory_summary()
    assert prof_device in text and "peak" in text
    line = next(ln for ln in text.splitlines() if "[3000, 2570]" in ln)
    assert "test_memory.py" in line
    live = memory.live_buffers(prof_device)
    assert [b.nbytes for b in live] == sorted((b.nbytes for b in live), reverse=True)
    # other tests in this worker may leave larger buffers alive: rank among the ones this file made
    ours = [b for b in live if "test_memory.py" in str(b.origin)]
    assert ours[0].shape == (3000, 2570) and ours[0].nbytes == 3000 * 2570 * 4
    assert doubled.numpy()[0, 0] == 2.0


def test_out_of_memory_message(prof_device: str, monkeypatch) -> None:
    keep = bg.Tensor(np.ones((1230, 4500), np.float32), device=prof_device).realize()  # the largest live buffer
    device = get_device(prof_device)

    def refuse(nbytes: int):
        raise MemoryError("simulated: no memory left")
    monkeypatch.setattr(device, "alloc_raw", refuse)
    n = (1 << 20) + 3
    with bg.profile() as prof, pytest.raises(DeviceError) as info:
        (bg.zeros(n, device=prof_device) + 1).realize()
    message = str(info.value)
    assert f"asked for 4.00 MiB ({4 * n} bytes)" in message
    live = sum(b.nbytes for b in memory.live_buffers(prof_device))
    assert f"{memory.format_bytes(live)} live" in message
    assert "float32[1230, 4500]" in message and "simulated: no memory left" in message
    assert keep.shape == (1230, 4500)
    monkeypatch.undo()
    # the failed realize left the profiler consistent: the next one is recorded as usual
    with prof:
        np.testing.assert_allclose((keep * 2).numpy(), np.full((1230, 4500), 2, np.float32))
    assert [e.cat for e in prof.events].count("realize") >= 1
