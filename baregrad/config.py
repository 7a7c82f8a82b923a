"""Every knob baregrad reads from the environment, in one place.

`KNOBS` is the table (name, default, what it does); README's knob table is `knob_table()`'s output and a test keeps
the two equal. Each knob has one accessor below; the rest of the package calls the accessor, never `os.environ`.
Accessors read the environment at each call (tests and benchmarks set knobs at run time), except DEBUG and BEAM,
which are read once at import as module constants (they sit on hot paths).
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    name: str
    default: str
    doc: str
    external: bool = False  # another tool's variable that baregrad also honours (CUDA_HOME, OCL_ICD_VENDORS, ...)


KNOBS: tuple[Knob, ...] = (
    Knob("BAREGRAD_DEVICE", "fastest that works", "CPU, PYTHON, LLVM, OPENCL, WEBGPU, CUDA or NV"),
    Knob("DEBUG", "0", "1: kernel count and time per realize; 2: per-kernel time, GFLOP/s, GB/s; 3: the kernel graph; "
                       "4: the generated source; 5: the linear program"),
    Knob("BEAM", "0", "width of the optional kernel search (0: default heuristics only)"),
    Knob("BAREGRAD_CACHE", "~/.cache/baregrad", "directory of the on-disk compile cache"),
    Knob("CC", "cc", "the C compiler of the CPU device"),
    Knob("BAREGRAD_TF32", "0", "1: fp32 matmuls on CUDA/NV may round inputs to tf32 on tensor cores (torch's "
                               "allow_tf32); 0 keeps them exact fp32"),
    Knob("BAREGRAD_NV_MOCK", "0", "1: device NV runs on its in-process mock kernel module (hardware-free tests)"),
    Knob("BAREGRAD_NV_TRACE", "", "a file: device NV appends every ioctl it makes there"),
    Knob("BAREGRAD_NV_COMMAND_MEMORY", "vidmem", "vidmem or sysmem: where NV places its command rings (diagnostic)"),
    Knob("BAREGRAD_TC_TILE", "", "bm,bn,bk,warps_m,warps_n,stages: the tensor-core matmul tile (benchmarking)"),
    Knob("BAREGRAD_GPU_UNROLL", "4", "elements per thread in vectorized GPU kernels (benchmarking)"),
    Knob("BAREGRAD_PROFILE", "", "a path: profile the whole run; at exit write a Chrome trace there (Perfetto, "
                                 "chrome://tracing, or `baregrad viz PATH`) and print the profile table on stderr"),
    Knob("VIZ", "0", "1: profile the whole run; at exit serve the viz page on 127.0.0.1 (port BAREGRAD_VIZ_PORT) "
                     "until Ctrl-C"),
    Knob("BAREGRAD_VIZ_PORT", "8642", "the viz page's port"),
    Knob("BAREGRAD_QUIET", "0", "1: no progress bars on stderr (they show only when stderr is a terminal anyway)"),
    Knob("BAREGRAD_DIST_TIMEOUT", "300", "seconds a collective of baregrad.distributed waits for the other ranks "
                                         "before it raises DistributedError (init_process_group(timeout=) overrides)"),
    Knob("RANK", "", "this process's rank when no MPI launcher says (torch.distributed's variable)", True),
    Knob("WORLD_SIZE", "", "the number of ranks, as RANK", True),
    Knob("OMP_NUM_THREADS", "all cores", "threads of the CPU kernels (OpenMP); `baregrad onnx --threads` sets it",
         True),
    Knob("CUDA_PATH", "", "CUDA toolkit root searched for nvcc/libnvrtc (also CUDA_HOME, /usr/local/cuda*)", True),
    Knob("CUDA_HOME", "", "CUDA toolkit root, as CUDA_PATH", True),
    Knob("OCL_ICD_VENDORS", "/etc/OpenCL/vendors", "where the OpenCL loader finds drivers (OPENCL probe)", True),
    Knob("VK_ICD_FILENAMES", "", "Vulkan driver manifests for wgpu; set, the WEBGPU probe trusts it "
                                 "(also VK_DRIVER_FILES)", True),
    Knob("VK_DRIVER_FILES", "", "as VK_ICD_FILENAMES", True),
)
KNOB_NAMES = frozenset(k.name for k in KNOBS)


def _raw(name: str, default: str = "") -> str:
    assert name in KNOB_NAMES, f"{name} is not in config.KNOBS: add it there (and to README) first"
    return os.environ.get(name, default)


def getenv(name: str, default: int = 0) -> int:
    """An integer knob (a value that is not an integer reads as the default)."""
    try:
        return int(_raw(name, str(default)))
    except ValueError:
        return default


DEBUG = getenv("DEBUG")
BEAM = getenv("BEAM")


def cache_dir() -> str:
    return _raw("BAREGRAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "baregrad")


def requested_device() -> str | None:
    name = _raw("BAREGRAD_DEVICE")
    return name.upper() if name else None


def c_compiler() -> str:
    return _raw("CC") or "cc"


def allow_tf32() -> bool:
    return _raw("BAREGRAD_TF32") == "1"


def nv_mock() -> bool:
    return _raw("BAREGRAD_NV_MOCK") == "1"


def nv_trace_path() -> str | None:
    return _raw("BAREGRAD_NV_TRACE") or None


def nv_command_memory() -> str:
    return _raw("BAREGRAD_NV_COMMAND_MEMORY") or "vidmem"


def tc_tile() -> str | None:
    return _raw("BAREGRAD_TC_TILE") or None


def gpu_unroll(default: int) -> int:
    return getenv("BAREGRAD_GPU_UNROLL", default)


def cuda_roots() -> list[str]:
    """CUDA_PATH and CUDA_HOME when set (the caller adds /usr/local/cuda and friends)."""
    return [r for r in (_raw("CUDA_PATH"), _raw("CUDA_HOME")) if r]


def opencl_vendors_dir() -> str:
    return _raw("OCL_ICD_VENDORS") or "/etc/OpenCL/vendors"


def vulkan_driver_override() -> bool:
    """True when the user names Vulkan driver manifests themselves (VK_ICD_FILENAMES or VK_DRIVER_FILES)."""
    return bool(_raw("VK_ICD_FILENAMES") or _raw("VK_DRIVER_FILES"))


def profile_path() -> str | None:
    return _raw("BAREGRAD_PROFILE") or None


def viz_enabled() -> bool:
    return getenv("VIZ") > 0


def viz_port() -> int:
    return getenv("BAREGRAD_VIZ_PORT", 8642)


def quiet() -> bool:
    return getenv("BAREGRAD_QUIET") > 0


def distributed_timeout() -> float:
    """Seconds a collective waits for its peers (BAREGRAD_DIST_TIMEOUT, default 300 as torch.distributed)."""
    try:
        value = float(_raw("BAREGRAD_DIST_TIMEOUT") or 300)
    except ValueError:
        return 300.0
    return value if value > 0 else 300.0


def launch_variable(name: str) -> str | None:
    """RANK or WORLD_SIZE as a launcher (torchrun, mpirun wrappers) sets them; None when unset or empty."""
    assert name in ("RANK", "WORLD_SIZE"), name
    return _raw(name) or None


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`, for a process baregrad starts (the distributed launcher)."""
    return {**os.environ, **overrides}


def omp_threads() -> int | None:
    """OMP_NUM_THREADS as a positive count, or None when unset or not one (OpenMP then uses every core)."""
    value = _raw("OMP_NUM_THREADS").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def default_omp_threads(n: int) -> None:
    """Set OMP_NUM_THREADS (the CPU kernels' OpenMP threads) to n unless the user set it; before a kernel loads."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n))


def knob_table() -> str:
    """README's knob table (markdown), generated from KNOBS."""
    rows = ["| knob | default | what it does |", "| --- | --- | --- |"]
    for k in KNOBS:
        doc = f"{k.doc} (another tool's variable)" if k.external else k.doc
        rows.append(f"| `{k.name}` | {k.default or '(unset)'} | {doc} |")
    return "\n".join(rows)


if __name__ == "__main__":  # `python -m baregrad.config` prints the table to paste into README
    print(knob_table())
