"""Does a kernel that needs local memory run on NV? Repro for the fault seen on an H100 (bench/RESULTS.md, session 6).

    python bench/nv_local_memory.py        # each kernel in its own process (a fault ends a process's device)

Two nvcc kernels: a local array (ptxas keeps it in registers: 0 B local) and a __noinline__ recursive call with a
volatile array (a stack frame). Prints each kernel's registers and local bytes, then OK with values, or the error.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KERNELS = {
    "local_array": r'''extern "C" __global__ void k(float* out, const float* in, int n) {
  float t[16];
  for (int i = 0; i < 16; i++) t[i] = in[(i * 7 + threadIdx.x) % n];
  out[threadIdx.x] = t[((int)in[threadIdx.x]) & 15];
}''',
    "stack_call": r'''__device__ __noinline__ float f(const float* in, int i, int d) {
  volatile float t[8];
  for (int j = 0; j < 8; j++) t[j] = in[(i + j) & 63];
  return d > 0 ? f(in, i + 1, d - 1) + t[i & 7] : t[(i * 3) & 7];
}
extern "C" __global__ void k(float* out, const float* in, int n) {
  out[threadIdx.x] = f(in, threadIdx.x, (int)in[0] & 3);
}''',
}


def compile_kernel(name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "k.cu", Path(tmp) / "k.cubin"
        src.write_text(KERNELS[name])
        subprocess.run(["nvcc", "-cubin", "-arch=sm_90", "-O3", "-o", str(out), str(src)], check=True)
        return out.read_bytes()


def run_one(name: str) -> None:
    from baregrad.device.nv.driver import NVDriver
    drv = NVDriver(0, timeout_s=5)
    prg = drv.load_program("k", compile_kernel(name))
    print(f"{name}: {prg.kernel.registers} registers, {prg.kernel.local_bytes} B local per thread", flush=True)
    n = 64
    data = array("f", (float(i % 5) for i in range(n)))
    src, dst = drv.alloc(4 * n), drv.alloc(4 * n)
    drv.copyin(src, memoryview(data))
    prg.launch([dst, src], (1,), (64,), [n], wait=True)
    result = array("f", bytes(4 * n))
    drv.copyout(memoryview(result), dst)
    print(f"{name}: OK {list(result[:6])}", flush=True)


def main() -> None:
    if len(sys.argv) > 1:
        run_one(sys.argv[1])
        return
    for name in KERNELS:
        proc = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True, timeout=60)
        print((proc.stdout + proc.stderr).strip()[-600:], flush=True)


if __name__ == "__main__":
    main()
