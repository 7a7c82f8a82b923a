"""Where one small eager launch spends its CPU time, on NV (our driver) beside CUDA (libcuda), in one process.

    python bench/nv_launch_parts.py [--iters 5000] [--devices CUDA,NV] [--profile] [--bytecodes]

Times, in microseconds per call: writes of a launch's bytes into each kind of CPU-visible GPU memory (a BAR
mapping of video memory may be uncached rather than write-combined in a VM), the doorbell, the QMD and constant
bank builds, a whole driver launch, a baregrad kernel call, and a whole eager op (`x * 1.0001 + 0.5` realized),
then that op split in two inside the chain: the time its kernel calls take there (each timed with
perf_counter_ns) and the op with its kernel calls skipped (everything but the launch). A tight loop of launches
can hide costs the chain pays (cache and store-buffer effects of the stores into GPU memory), so the split says
whether a device's slower op is its launch or the rest.
--profile adds cProfile's top entries for the eager op on each device. --bytecodes counts the Python bytecodes of a
kernel call and of an eager op (sys.settrace): a figure that does not move with the machine's load, for comparing
code paths on a busy machine; on the mock the fake GPU is switched off for the count (it would be counted too).
Runs on the mock too (BAREGRAD_NV_MOCK=1), where the memory rows mean nothing but every code path is exercised.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import baregrad as bg  # noqa: E402
from baregrad.device import get_device  # noqa: E402
from baregrad.engine import realize as engine  # noqa: E402


def per_call_us(fn: Callable[[], Any], iters: int, sync: Callable[[], None] | None = None) -> float:
    for _ in range(min(50, iters)):
        fn()
    if sync:
        sync()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    if sync:
        sync()
    return (time.perf_counter() - t) / iters * 1e6


def eager_chain(x: bg.Tensor, ops: int) -> bg.Tensor:
    for _ in range(ops):
        engine.bump_epoch()
        x = (x * 1.0001 + 0.5).realize()
    return x


def row(name: str, value: float, unit: str = "us") -> None:
    print(f"  {name:<44} {value:9.2f} {unit}", flush=True)


def the_kernel(device: str) -> Any:
    """The compiled program of `x * 1.0001 + 0.5` on a 16-float tensor (compiled by running it once)."""
    eager_chain(bg.Tensor(np.ones(16, np.float32), device=device), 2)
    return next(prog for (dev, _), (prog, _) in engine._PROGRAMS.items() if dev == device)  # noqa: SLF001


def driver_rows(dev: Any, iters: int) -> None:
    """NV only: the pieces of an eager launch (NVDriver.launch_eager), each alone."""
    from baregrad.device.nv.memory import MemKind
    drv = dev.drv
    payload = bytes(768)  # constant bank + QMD + launch words: what a launch writes when nothing is prebuilt
    views = {"VIDMEM_CPU (kernel args)": drv.kernargs_view}
    extra = {kind: drv.gpu.memory.alloc(1 << 16, kind) for kind in (MemKind.SYSMEM, MemKind.HOST)}
    views.update({f"{kind.name}": a.view() for kind, a in extra.items()})
    for name, view in views.items():
        def write(view=view) -> None:
            view[4096:4096 + 768] = payload
        row(f"write 768 B into {name}", per_call_us(write, iters))

        def read(view=view) -> int:
            return view[8192]
        row(f"read 1 B from {name}", per_call_us(read, min(iters, 2000)))
    ch = drv.gpu.compute
    row("doorbell write", per_call_us(lambda: ch.kif.mmio_write32(ch.doorbell_addr, ch.token), iters))
    kernel = the_kernel("NV")
    prg, launch = kernel.kernels[0]
    bufs = [drv.alloc(64) for _ in range(prg.n_pointers)]
    row("constant_bank0", per_call_us(lambda: prg.constant_bank0(bufs, (), launch.grid, launch.block), iters))
    row("qmd build", per_call_us(lambda: prg.qmd(launch.grid, launch.block, drv.kernargs.va, 256), iters))
    row("NVProgram.enqueue (CPU side)", per_call_us(lambda: prg.enqueue(bufs, launch.grid, launch.block), iters))
    row("NVProgram.enqueue (incl. GPU, synced)",
        per_call_us(lambda: prg.enqueue(bufs, launch.grid, launch.block), iters, drv.synchronize))
    row("NVKernel call", per_call_us(lambda: kernel(*bufs), iters))
    for a in extra.values():
        drv.gpu.memory.free(a)


def in_chain_rows(kernel: Any, x: bg.Tensor, iters: int) -> None:
    """The eager op's kernel calls timed inside the chain, and the chain with its kernel calls skipped."""
    kernel_type = type(kernel)
    original = kernel_type.__call__
    spent_ns, calls = [0], [0]
    clock = time.perf_counter_ns

    def timed_call(self: Any, *handles: Any) -> None:
        t = clock()
        original(self, *handles)
        spent_ns[0] += clock() - t
        calls[0] += 1

    def skipped_call(self: Any, *handles: Any) -> None:
        calls[0] += 1

    def clock_pair() -> int:
        t = clock()
        return clock() - t
    row("  ... (a perf_counter_ns pair alone)", per_call_us(clock_pair, iters))
    try:
        kernel_type.__call__ = timed_call
        whole = per_call_us(lambda: eager_chain(x, 10), iters // 10) / 10
        row("  ... with kernel calls timed inside", whole)
        row("  ... its kernel calls, timed inside the chain", spent_ns[0] / 1e3 / max(calls[0], 1))
        kernel_type.__call__ = skipped_call
        row("  ... with kernel calls skipped (the rest)", per_call_us(lambda: eager_chain(x, 10), iters // 10) / 10)
    finally:
        kernel_type.__call__ = original


def bytecodes(fn: Callable[[], Any], calls: int) -> float:
    """Python bytecodes executed per call of fn."""
    count = [0]

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            count[0] += 1
        return trace
    sys.settrace(trace)
    try:
        for _ in range(calls):
            fn()
    finally:
        sys.settrace(None)
    return count[0] / calls


class _NoDoorbell:
    value = 0


def bytecode_rows(dev: Any, kernel: Any, handles: list, x: bg.Tensor) -> None:
    """Bytecodes of a kernel call and of an eager op. On the mock, the doorbell stops reaching the fake GPU and
    waits return at once, so only the driver's own code is counted: the device is of no further use after."""
    if getattr(dev, "mock", False):
        drv = dev.drv
        ch = drv.gpu.compute
        ch.doorbell = _NoDoorbell()
        ch._wait_for_ring_slot = lambda: setattr(ch, "known_consumed", ch.put)  # noqa: SLF001
        drv.timeline.reached = 1 << 62
        kernel.twins = []  # the mock's CPU twins are registered on every call; a real GPU has none
    row("kernel call", bytecodes(lambda: kernel(*handles), 2000), "bytecodes")
    row("eager op x * 1.0001 + 0.5", bytecodes(lambda: eager_chain(x, 10), 100) / 10, "bytecodes")


def device_rows(device: str, iters: int, profile: bool, count_bytecodes: bool) -> None:
    print(f"{device}:", flush=True)
    dev = get_device(device)
    if device == "NV":
        driver_rows(dev, iters)
    kernel = the_kernel(device)
    handles = [dev.alloc_raw(64) for _ in range(2)]
    row("kernel call (CPU side)", per_call_us(lambda: kernel(*handles), iters))
    row("kernel call (incl. GPU, synced)", per_call_us(lambda: kernel(*handles), iters, dev.synchronize))
    x = bg.Tensor(np.ones(16, np.float32), device=device)
    row("eager op x * 1.0001 + 0.5", per_call_us(lambda: eager_chain(x, 10), iters // 10, dev.synchronize) / 10)
    in_chain_rows(kernel, x, iters)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        eager_chain(x, iters)
        dev.synchronize()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
    if count_bytecodes:
        bytecode_rows(dev, kernel, handles, x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--devices", default="CUDA,NV")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--bytecodes", action="store_true", help="count Python bytecodes per kernel call and eager op")
    args = p.parse_args()
    for device in [d.strip().upper() for d in args.devices.split(",") if d.strip()]:
        try:
            device_rows(device, args.iters, args.profile, args.bytecodes)
        except Exception as e:  # noqa: BLE001 - report and go on with the next device
            print(f"  {device}: failed ({type(e).__name__}: {str(e)[:300]})")


if __name__ == "__main__":
    main()
