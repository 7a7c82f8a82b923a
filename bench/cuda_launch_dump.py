"""What NVIDIA's own driver (libcuda) writes for one kernel launch: its QMD and constant bank 0, found in memory.

Why: baregrad's NV driver builds QMDs and constant banks from NVIDIA's published headers; where the hardware
rejects one (a GR exception on launch), the ground truth is what libcuda hands the same GPU. This script launches
a known kernel through libcuda with a distinctive grid and arguments, then scans this process's readable memory
(the pushbuffers and QMD pools libcuda maps) for the QMD (by its grid and block fields) and for the argument bytes,
and prints both, decoded with baregrad's QMD field table. Run on a machine with an NVIDIA GPU:
    python bench/cuda_launch_dump.py
"""
from __future__ import annotations

import ctypes
import re
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baregrad.device import cuda_api as api  # noqa: E402
from baregrad.device.nv.qmd import QMD_LAYOUTS, Qmd  # noqa: E402

SOURCE = r'''
extern "C" __global__ void add(float* out, const float* a, const float* b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}
'''
GRID, BLOCK, N = 0x1235, 0x60, 0x1235 * 0x60
REGION_LIMIT = 256 << 20


def readable_regions() -> list[tuple[int, int, str]]:
    out = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        name = parts[5] if len(parts) > 5 else ""
        if parts[1].startswith("r") and hi - lo <= REGION_LIMIT and not name.startswith("[v"):
            if name in ("", "[heap]") or "nvidia" in name or name.startswith("/dev/zero"):
                out.append((lo, hi, name))
    return out


def words(data: bytes) -> str:
    return " ".join(f"{int.from_bytes(data[i:i + 4], 'little'):08x}" for i in range(0, len(data) - 3, 4))


def decode(qmd: bytes) -> None:
    layout = QMD_LAYOUTS[4]
    q = Qmd(layout, qmd)
    for name in sorted(layout.fields, key=lambda n: layout.fields[n][1]):
        v = q.get(name)
        if v:
            print(f"    {name} = 0x{v:x}")


def dump_constant_buffers(qmd: bytes, regions: list[tuple[int, int, str]]) -> None:
    """Print each bound constant buffer whose GPU address is also a CPU address this process can read."""
    q = Qmd(QMD_LAYOUTS[4], qmd)
    for i in range(8):
        if not q.get(f"CONSTANT_BUFFER_VALID_{i}"):
            continue
        va = q.get_split64(f"CONSTANT_BUFFER_ADDR_LOWER_SHIFTED6_{i}", f"CONSTANT_BUFFER_ADDR_UPPER_SHIFTED6_{i}") << 6
        size = q.get(f"CONSTANT_BUFFER_SIZE_SHIFTED4_{i}") << 4
        where = next(((lo, name) for lo, hi, name in regions if lo <= va and va + min(size, 0x400) <= hi), None)
        if where is None:
            print(f"  constant buffer {i}: 0x{va:x} + 0x{size:x}, not CPU-readable here")
            continue
        print(f"  constant buffer {i}: 0x{va:x} + 0x{size:x} in {where[1] or 'anonymous'}:\n"
              f"    {words(ctypes.string_at(va, min(size, 0x400)))}")


def main() -> int:
    drv = api.Driver()
    dev = drv.device(0)
    drv.set_current(drv.primary_context(dev))
    major = drv.attribute(dev, api.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
    minor = drv.attribute(dev, api.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
    cubin = api.NVRTC().compile(SOURCE, "add", f"sm_{major}{minor}")
    fn = drv.function(drv.module_load(cubin), "add")
    out, a, b = (drv.mem_alloc(4 * N) for _ in range(3))
    args = [ctypes.c_uint64(out), ctypes.c_uint64(a), ctypes.c_uint64(b), ctypes.c_int32(N)]
    params = (ctypes.c_void_p * 4)(*[ctypes.addressof(x) for x in args])
    stream = drv.stream_create()
    rc = drv.launch(fn, (GRID, 1, 1), (BLOCK, 1, 1), 0, stream, params)
    drv.stream_sync(stream)
    print(f"launch rc {rc}; buffers out 0x{out:x} a 0x{a:x} b 0x{b:x}; n 0x{N:x}")
    qmd_pattern = re.compile(re.escape(struct.pack("<I", GRID)) + b".{12}" + re.escape(struct.pack("<HH", BLOCK, 1)),
                             re.DOTALL)
    arg_bytes = struct.pack("<QQQi", out, a, b, N)
    found = 0
    regions = readable_regions()
    for lo, hi, name in regions:
        try:
            data = ctypes.string_at(lo, hi - lo)
        except Exception as e:  # noqa: BLE001 - an unreadable mapping is skipped
            print(f"skip 0x{lo:x}-0x{hi:x} {name}: {e}")
            continue
        for m in qmd_pattern.finditer(data):
            start = m.start() - 128  # GRID_WIDTH is bit 1024 of QMD v4
            if start < 0:
                continue
            qmd = data[start:start + 384]
            if Qmd(QMD_LAYOUTS[4], qmd).get("QMD_MAJOR_VERSION") != 4:
                continue
            found += 1
            print(f"QMD at 0x{lo + start:x} in {name or 'anonymous'} 0x{lo:x}-0x{hi:x}:\n  {words(qmd)}")
            decode(qmd)
            dump_constant_buffers(qmd, regions)
            print(f"  256 bytes before it: {words(data[max(0, start - 256):start])}")
        pos = data.find(arg_bytes)
        while pos >= 0:
            found += 1
            head = data[max(0, pos - 0x210):pos]
            print(f"arguments at 0x{lo + pos:x} in {name or 'anonymous'}; {len(head)} bytes before them:\n"
                  f"  {words(head)}")
            pos = data.find(arg_bytes, pos + 1)
    print(f"{found} matches")
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
