"""A device's peak: memory bandwidth and arithmetic throughput, the roofline the profiler compares kernels against.

`Device.peak()` returns a `Peak` (or None where no meaningful figure exists: the PYTHON interpreter, a GPU not in
the table below). Nothing here runs at import or on a device's first op: a peak is found the first time something
asks for it (the profiler, when it writes its table or trace), then kept on the device.

- GPUs: datasheet figures chosen by the device's name (CUDA) or PCI device id (NV), table GPU_SPECS.
- The host CPU (devices CPU and LLVM, and OpenCL/WebGPU implementations that run on it): measured once per machine
  by `host_peak()`, two tiny kernels compiled the way CPU kernels are (same compiler, flags, OpenMP threads):
  a streaming add over three 64 MiB arrays for bandwidth and a register-resident FMA loop for compute. The result
  is cached on disk next to the compile cache, keyed by the CPU model and features, the thread count and the
  calibration source, so later processes read a file instead. Each thread times its own work in its own CPU time:
  on a shared machine the wall clock would also count the time other processes held the cores, and a peak
  measured low would put later kernels above 100%.

Bandwidth is counted as the profiler counts a kernel's bytes (every parameter read or written once; see
profile/profiler.kernel_cost), so a memory-bound kernel of ours reads as a share of the same measure. It is
memory's bandwidth: a kernel whose buffers stay in a cache (small, or repeated on the same data) may exceed it.
FLOP classes: "fp64", "fp32" and "fp16" (half and bfloat16 together).
"""
from __future__ import annotations

import ctypes
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

FLOP_CLASSES = ("fp64", "fp32", "fp16")


@dataclass(frozen=True)
class Peak:
    """What a device can do at best: memory GB/s (1e9 bytes/s) and GFLOP/s per FLOP class, and where that
    comes from (a datasheet, or a measurement on this machine)."""
    gbps: float
    gflops: dict[str, float] = field(default_factory=dict)  # FLOP class (FLOP_CLASSES) -> GFLOP/s
    source: str = ""


def flop_class(dtype_name: str) -> str | None:
    """The FLOP class arithmetic in this dtype counts against, or None for non-float dtypes."""
    return {"float64": "fp64", "float32": "fp32", "float16": "fp16", "bfloat16": "fp16"}.get(dtype_name)


# ---- GPUs: datasheet figures ----
@dataclass(frozen=True)
class GPUSpec:
    name: str
    gbps: float
    fp64: float   # GFLOP/s, FP64 (vector units: our kernels emit no FP64 tensor-core MMA)
    fp32: float   # GFLOP/s, FP32 (CUDA cores)
    tf32: float   # GFLOP/s, TF32 tensor cores, dense (an fp32 matmul's ceiling with BAREGRAD_TF32=1)
    fp16: float   # GFLOP/s, FP16/BF16 tensor cores, dense
    source: str


# NVIDIA's datasheets quote tensor-core throughput "with sparsity"; the dense figures below are half of those.
# H100 figures: "NVIDIA H100 Tensor Core GPU" datasheet (SXM, PCIe and NVL columns); H200 figures: "NVIDIA H200
# Tensor Core GPU" datasheet (SXM and NVL columns). Memory bandwidth is the datasheet's "GPU memory bandwidth".
_H100_SHEET = "NVIDIA H100 Tensor Core GPU datasheet"
_H200_SHEET = "NVIDIA H200 Tensor Core GPU datasheet"
GPU_SPECS: tuple[GPUSpec, ...] = (
    # the more specific names first: "H100 NVL" and "H100 PCIe" also contain "H100"
    GPUSpec("H200 NVL", 4800, 30_000, 60_000, 417_500, 835_500, f"{_H200_SHEET}, H200 NVL"),
    GPUSpec("H200", 4800, 34_000, 67_000, 494_500, 989_500, f"{_H200_SHEET}, H200 SXM"),
    GPUSpec("H100 NVL", 3900, 30_000, 60_000, 417_500, 835_500, f"{_H100_SHEET}, H100 NVL"),
    GPUSpec("H100 PCIe", 2000, 26_000, 51_000, 378_000, 756_500, f"{_H100_SHEET}, H100 PCIe"),
    GPUSpec("H100", 3350, 34_000, 67_000, 494_500, 989_500, f"{_H100_SHEET}, H100 SXM"),
)

# NV (our driver) knows the GPU by its PCI device id, not its marketing name. Ids from the PCI ID database
# (pci-ids.ucw.cz, vendor 10de); 0x2330 is also what the NV mock reports. Not checked on every one of these boards.
PCI_NAMES: dict[int, str] = {0x2330: "H100 SXM5", 0x2331: "H100 PCIe", 0x2321: "H100 NVL", 0x2335: "H200",
                             0x233B: "H200 NVL"}


def gpu_spec(device_name: str) -> GPUSpec | None:
    """The datasheet entry whose name occurs in `device_name` (e.g. "NVIDIA H100 80GB HBM3"), or None."""
    upper = device_name.upper()
    return next((s for s in GPU_SPECS if s.name.upper() in upper), None)


def gpu_peak(device_name: str, allow_tf32: bool) -> Peak | None:
    """A GPU's Peak from its datasheet entry. fp16 counts against the tensor cores (our half matmuls use them);
    fp32 against the CUDA cores, or the TF32 tensor cores when fp32 matmuls may use them (BAREGRAD_TF32=1)."""
    spec = gpu_spec(device_name)
    if spec is None:
        return None
    fp32 = spec.tf32 if allow_tf32 else spec.fp32
    return Peak(spec.gbps, {"fp64": spec.fp64, "fp32": fp32, "fp16": spec.fp16}, spec.source)


# ---- the host CPU: measured ----
# Kept small and register-resident: ACCS independent FMA chains (enough to cover FMA latency on two pipes),
# vectors of LANES floats (the width CPU kernels use); `m` and `a` arrive at run time, so nothing folds away.
_CALIBRATION_C = r"""
#include <omp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#define LANES %(lanes)d
typedef float vf __attribute__((vector_size(LANES * 4)));
typedef double vd __attribute__((vector_size(LANES * 4)));

/* Each thread times its own share of the work in its own CPU time (CLOCK_THREAD_CPUTIME_ID) and the slowest thread's
   seconds are returned: what the hardware does while our threads run, not how long a busy machine kept them waiting
   (waking the pool, sharing the cores with other processes: that is the kernel's loss, not the device's ceiling). */
static double thread_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double stream_pass(float *restrict out, const float *restrict x, const float *restrict y, long n) {
  double slowest = 0;
  #pragma omp parallel reduction(max:slowest)
  {
    #pragma omp barrier
    double t0 = thread_seconds();
    #pragma omp for schedule(static) nowait
    for (long i = 0; i < n; i++) out[i] = x[i] + y[i];
    slowest = thread_seconds() - t0;
  }
  return slowest;
}

/* the best of `passes` streaming adds over three arrays of n floats (-1 if they cannot be allocated); the pages
   are first touched by the threads that stream them, as the first pass of a kernel would. Huge pages where the
   system offers them: faulting in 192 MiB of 4 KiB pages would take most of the calibration's time. */
double bg_stream_add(long n, int passes) {
  size_t bytes = ((3 * n * sizeof(float)) | ((2 << 20) - 1)) + 1;  /* a whole number of 2 MiB pages */
  float *base = aligned_alloc(2 << 20, bytes);
  double best = -1;
  if (base) {
#ifdef MADV_HUGEPAGE
    madvise(base, bytes, MADV_HUGEPAGE);
#endif
    float *out = base, *x = base + n, *y = base + 2 * n;
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { out[i] = 0; x[i] = 1; y[i] = 2; }
    for (int p = 0; p < passes; p++) {
      double t = stream_pass(out, x, y, n);
      if (best < 0 || t < best) best = t;
    }
  }
  free(base);
  return best;
}

#define FMA_LOOP(T, V, LANES_OF_T) \
  double slowest = 0; \
  int threads = 1; \
  _Pragma("omp parallel reduction(max:slowest)") \
  { \
    int t = omp_get_thread_num(); \
    V c0 = (V){} + (T)(1 + t), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5, c6 = c0 + 6, \
      c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11; \
    V vm = (V){} + m, va = (V){} + a; \
    _Pragma("omp barrier") \
    double t0 = thread_seconds(); \
    for (long i = 0; i < iters; i++) { \
      c0 = c0 * vm + va; c1 = c1 * vm + va; c2 = c2 * vm + va; c3 = c3 * vm + va; c4 = c4 * vm + va; \
      c5 = c5 * vm + va; c6 = c6 * vm + va; c7 = c7 * vm + va; c8 = c8 * vm + va; c9 = c9 * vm + va; \
      c10 = c10 * vm + va; c11 = c11 * vm + va; \
    } \
    V s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11; \
    slowest = thread_seconds() - t0; \
    T total = 0; \
    for (int l = 0; l < LANES_OF_T; l++) total += s[l]; \
    if (total == (T)12345) *sink = total; \
    if (t == 0) threads = omp_get_num_threads(); \
  } \
  *flops = 2.0 * 12 * LANES_OF_T * (double)iters * threads; \
  return slowest;

/* 12 independent FMA chains per thread (2 FLOPs per lane each); *flops gets the total over threads */
double bg_fma_f32(long iters, float m, float a, volatile float *sink, double *flops) { FMA_LOOP(float, vf, LANES) }
double bg_fma_f64(long iters, double m, double a, volatile double *sink, double *flops) {
  FMA_LOOP(double, vd, LANES / 2)
}
"""

STREAM_FLOATS = 16 << 20  # per array: 64 MiB each, 192 MiB moved per pass (far past any last-level cache)
CALIBRATION_VERSION = 1
_HOST_PEAK: dict[str, Peak | None] = {}  # key -> this process's answer (None: calibration impossible here)


def host_peak() -> Peak | None:
    """The host CPU's Peak: read from the on-disk cache, else measured now and saved. None without a C compiler."""
    try:
        from baregrad.device import get_device
        cpu = get_device("CPU")
    except Exception:  # noqa: BLE001 - no C compiler (or no CPU device): no measured peak, never an error
        return None
    source = _CALIBRATION_C % {"lanes": cpu.kernel_options.vector_width}
    from baregrad.device.compile_cache import cache_key
    key = cache_key(source, cpu.compiler_id, cpu.target_id, str(_threads()), str(CALIBRATION_VERSION))
    if key not in _HOST_PEAK:
        _HOST_PEAK[key] = _with_half(_read_cached(key) or _calibrate_and_save(cpu, source, key))
    return _HOST_PEAK[key]


def _threads() -> int:
    """The OpenMP thread count CPU kernels run with (OMP_NUM_THREADS, else every core this process may use)."""
    from baregrad import config
    n = config.omp_threads()
    if n:
        return n
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cache_path(key: str) -> str:
    from baregrad import config
    return os.path.join(config.cache_dir(), "peak", key + ".json")


def _read_cached(key: str) -> Peak | None:
    """The saved calibration, or None when it is missing or does not look like one (then it is measured again)."""
    try:
        with open(_cache_path(key), "rb") as f:
            fields = json.loads(f.read(1 << 16))
        gflops = {k: float(v) for k, v in fields["gflops"].items() if k in FLOP_CLASSES and float(v) > 0}
        peak = Peak(float(fields["gbps"]), gflops, str(fields["source"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return peak if peak.gbps > 0 and gflops else None


def _calibrate_and_save(cpu: Any, source: str, key: str) -> Peak | None:
    try:
        lib = cpu.load_library(source)
    except Exception:  # noqa: BLE001 - a compiler that cannot build it: no peak, not a failed profile
        return None
    peak = measure_host(lib)
    if peak is None:
        return None
    path = _cache_path(key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(asdict(peak), f)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache: measured again by the next process, still correct
    return peak


def measure_host(lib: Any) -> Peak | None:
    """Run the calibration kernels of a loaded library: best of several passes (the least disturbed one)."""
    gbps = _stream_gbps(lib)
    if gbps <= 0:
        return None
    return Peak(gbps, {"fp32": _fma_gflops(lib.bg_fma_f32, ctypes.c_float),
                       "fp64": _fma_gflops(lib.bg_fma_f64, ctypes.c_double)},
                source=f"measured on this machine ({_threads()} threads): streaming add, register FMA")


def _stream_gbps(lib: Any, passes: int = 3) -> float:
    fn = lib.bg_stream_add
    fn.argtypes = [ctypes.c_long, ctypes.c_int]
    fn.restype = ctypes.c_double
    seconds = fn(STREAM_FLOATS, passes)
    # bytes as the profiler counts them: two arrays read, one written
    return 3 * 4 * STREAM_FLOATS / seconds / 1e9 if seconds > 0 else 0.0


def _fma_gflops(fn: Any, ctype: Any, iters: int = 1 << 17, passes: int = 3) -> float:
    """About 5-20 ms a pass on a current core (1<<17 iterations of 12 vector FMAs)."""
    fn.argtypes = [ctypes.c_long, ctype, ctype, ctypes.c_void_p, ctypes.c_void_p]
    fn.restype = ctypes.c_double
    sink, flops = ctype(), ctypes.c_double()
    best = 0.0
    for _ in range(passes):  # m, a keep every chain near 1: no overflow, no subnormals
        seconds = fn(iters, 0.999999, 1e-6, ctypes.byref(sink), ctypes.byref(flops))
        best = max(best, flops.value / max(seconds, 1e-9) / 1e9)
    return best


def _with_half(peak: Peak | None) -> Peak | None:
    """CPU kernels compute half and bfloat16 in float32 (render/cstyle.py), so fp16 shares fp32's ceiling."""
    if peak is None or "fp32" not in peak.gflops:
        return peak
    return Peak(peak.gbps, {**peak.gflops, "fp16": peak.gflops["fp32"]}, peak.source)
