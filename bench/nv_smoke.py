"""Smoke test and launch-latency benchmark for baregrad's own NVIDIA driver on a real GPU.

Run on a machine with an NVIDIA GPU (H100/H200 tested target; open kernel module 580.x) and nvcc:
    python bench/nv_smoke.py                 # real GPU 0
    python bench/nv_smoke.py --mock          # dry run against the in-process mock driver (no GPU needed)
It opens the driver, prints the classes found, allocates, copies, launches an nvcc-compiled add kernel, checks the
result, times launch latency (microseconds per kernel over --launches launches), and checks a chain of eager
launches that reuses every prebuilt launch slot with new buffer addresses. Every step prints what it did;
the first failure prints its step, the error and a traceback, and the script exits 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baregrad.device.nv import NVDriver  # noqa: E402

ADD_CU = r'''
extern "C" __global__ void add(float* out, const float* a, const float* b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}
extern "C" __global__ void inc(float* out, const float* a) {  // pointers only: launched from prebuilt slots
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = a[i] + 1.0f;
}
'''
SLOT_LAUNCHES = 48  # a multiple of 3 buffers and of nv/eager.py's 8 slots: every slot is reused with new addresses


class StepFailed(Exception):
    pass


def step(name: str):
    """Decorator-free step runner: `with step("x"):` prints the step and turns errors into StepFailed."""
    class _Step:
        def __enter__(self):
            print(f"[step] {name} ...", flush=True)
            self.t = time.perf_counter()

        def __exit__(self, typ, exc, tb):
            if exc is None:
                print(f"[ ok ] {name} ({(time.perf_counter() - self.t) * 1e3:.1f} ms)", flush=True)
                return False
            print(f"[FAIL] {name}: {typ.__name__}: {exc}", flush=True)
            traceback.print_exception(typ, exc, tb)
            raise StepFailed(name) from exc
    return _Step()


def environment(mock: bool) -> None:
    print(f"python {sys.version.split()[0]} on {os.uname().sysname} {os.uname().release}")
    for path in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"):
        print(f"  {path}: {'present' if os.path.exists(path) else 'MISSING'}")
    version = Path("/proc/driver/nvidia/version")
    print("  kernel module:", version.read_text().splitlines()[0] if version.exists() else "not loaded")
    nvcc = shutil.which("nvcc")
    print("  nvcc:", nvcc or "MISSING (needed to build the test kernel)")
    if not mock and not os.path.exists("/dev/nvidia-uvm"):
        print("  hint: `sudo modprobe nvidia-uvm` (or run any CUDA program once) creates /dev/nvidia-uvm")


def compile_add(arch: str) -> bytes:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise RuntimeError("nvcc not found on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "add.cu", Path(tmp) / "add.cubin"
        src.write_text(ADD_CU)
        proc = subprocess.run([nvcc, "-cubin", f"-arch={arch}", "-o", str(out), str(src)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nvcc failed:\n{proc.stderr}")
        return out.read_bytes()


def register_mock_twin(cubin: bytes) -> None:
    from baregrad.device.nv.mock import register_twin, twin_key

    def add(args, grid, block):
        out, a, b, n = args
        o, x, y = out.cast("f"), a.cast("f"), b.cast("f")
        for i in range(n):
            o[i] = x[i] + y[i]
    register_twin(twin_key(cubin, "add"), add)

    def inc(args, grid, block):
        out, a = args
        o, x = out.cast("f"), a.cast("f")
        for i in range(grid[0] * block[0]):
            o[i] = x[i] + 1.0
    register_twin(twin_key(cubin, "inc"), inc)


def run(args: argparse.Namespace) -> None:
    with step("environment"):
        environment(args.mock)
    with step("open driver"):
        drv = NVDriver(args.device, mock=args.mock, timeout_s=args.timeout)
        print(f"  GPU {args.device}: {drv.arch}, kernel module {drv.gpu.driver_version}")
        for role, name in drv.class_names.items():
            print(f"  {role:9s} {name}")
        print(f"  class list ({len(drv.gpu.class_list)}):", " ".join(f"{c:04x}" for c in sorted(drv.gpu.class_list)))
    try:
        with step(f"compile add kernel for {drv.arch}"):
            cubin = compile_add(args.arch or drv.arch)
            print(f"  cubin: {len(cubin)} bytes")
            if args.mock:
                register_mock_twin(cubin)
        n = args.n
        a = array("f", (float(i % 1000) * 0.5 for i in range(n)))
        b = array("f", (float(i % 7) - 3.0 for i in range(n)))
        with step(f"alloc 3 x {4 * n} bytes"):
            ba, bb, bo = drv.alloc(4 * n), drv.alloc(4 * n), drv.alloc(4 * n)
            print(f"  a at 0x{ba.va:x}, b at 0x{bb.va:x}, out at 0x{bo.va:x}")
        with step("copyin"):
            drv.copyin(ba, memoryview(a))
            drv.copyin(bb, memoryview(b))
        with step("load program"):
            prg = drv.load_program("add", cubin)
            k = prg.kernel
            print(f"  entry 0x{prg.program_va:x}, {k.registers} registers, params at c[0][0x{k.param_base:x}], "
                  f"{len(k.params)} params, shared {k.shared_bytes} B, local {k.local_bytes} B/thread")
            qmd = prg.qmd(((n + 255) // 256, 1, 1), (256, 1, 1), 0x7F00_0000_00, 0x200)
            words = [int.from_bytes(qmd[i:i + 4], "little") for i in range(0, len(qmd), 4)]
            print("  QMD (cb0 at 0x7f0000000 for display):", " ".join(f"{w:08x}" for w in words))
        grid, block = ((n + 255) // 256,), (256,)
        with step("launch (wait=True)"):
            secs = prg.launch([bo, ba, bb], grid, block, [n], wait=True)
            print(f"  GPU time {secs * 1e6:.2f} us")
        with step("copyout and check"):
            out = array("f", bytes(4 * n))
            drv.copyout(memoryview(out), bo)
            bad = [i for i in range(n) if out[i] != a[i] + b[i]]
            if bad:
                i = bad[0]
                raise AssertionError(f"{len(bad)} wrong values; first at {i}: got {out[i]}, want {a[i] + b[i]}")
            print(f"  all {n} values correct")
        with step(f"launch latency ({args.launches} launches)"):
            prg.launch([bo, ba, bb], grid, block, [n])
            drv.synchronize()
            t = time.perf_counter()
            for _ in range(args.launches):
                prg.launch([bo, ba, bb], grid, block, [n])
            submit = time.perf_counter() - t
            drv.synchronize()
            total = time.perf_counter() - t
            print(f"  submit: {submit / args.launches * 1e6:.2f} us/kernel (CPU side), "
                  f"end to end: {total / args.launches * 1e6:.2f} us/kernel")
            t = time.perf_counter()
            for _ in range(min(args.launches, 200)):
                prg.launch([bo, ba, bb], grid, block, [n], wait=True)
            print(f"  launch + wait round trip: {(time.perf_counter() - t) / min(args.launches, 200) * 1e6:.2f} us")
        with step(f"eager launches from prebuilt slots ({SLOT_LAUNCHES} launches over 3 buffers)"):
            inc, bufs = drv.load_program("inc", cubin), [ba, bb, bo]
            drv.copyin(ba, memoryview(a))
            for i in range(SLOT_LAUNCHES):  # launch i writes buffer i % 3 plus one into buffer (i + 1) % 3
                inc.launch([bufs[(i + 1) % 3], bufs[i % 3]], (n // 256,), (256,))
            out = array("f", bytes(4 * n))
            drv.copyout(memoryview(out), bufs[SLOT_LAUNCHES % 3])
            bad = [i for i in range(n) if out[i] != a[i] + SLOT_LAUNCHES]
            if bad:
                i = bad[0]
                want = a[i] + SLOT_LAUNCHES
                raise AssertionError(f"{len(bad)} wrong values; first at {i}: got {out[i]}, want {want}")
            print(f"  all {n} values correct")
        with step("free"):
            for buf in (ba, bb, bo):
                drv.free(buf)
            drv.trim()
        if not args.mock:
            with step("GPU fault is reported, not a hang"):
                bad = 0xDEAD_0000_0000  # mapped nowhere in the GPU's address space
                t = time.perf_counter()
                try:
                    prg.launch([bad, bad, bad], grid, block, [n])
                    drv.synchronize()
                except Exception as e:  # noqa: BLE001 - the DeviceError is what this step wants to see
                    print(f"  raised after {(time.perf_counter() - t) * 1e3:.0f} ms: {type(e).__name__}: {e}")
                else:
                    raise AssertionError("a kernel writing to an unmapped address completed without an error")
    finally:
        with step("close"):
            drv.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=int, default=0)
    p.add_argument("--mock", action="store_true", help="use the in-process mock kernel driver")
    p.add_argument("--n", type=int, default=1 << 20, help="elements per vector")
    p.add_argument("--launches", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a wait is declared hung")
    p.add_argument("--arch", default=None, help="nvcc -arch override (default: the GPU's)")
    args = p.parse_args()
    if args.mock:  # the mock runs the kernel as a Python loop: keep the dry run short
        args.n, args.launches = min(args.n, 4096), min(args.launches, 200)
    try:
        run(args)
    except StepFailed as e:
        print(f"nv_smoke: FAILED at step '{e}'", flush=True)
        return 1
    print("nv_smoke: PASSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
