"""Every knob baregrad reads from the environment, in one place.

BAREGRAD_DEVICE  CPU | PYTHON | LLVM | OPENCL | WEBGPU | CUDA | NV  (default: the fastest that works)
DEBUG            1: kernel count and time per realize; 2: per-kernel time, GFLOP/s and GB/s;
                 3: the kernel graph; 4: the generated source; 5: the linear program
BEAM             width of the optional kernel search (0: off; default heuristics only)
BAREGRAD_CACHE   directory of the on-disk compile cache (default ~/.cache/baregrad)
CC               the C compiler of the CPU device (default cc)
BAREGRAD_TF32    1: fp32 matmuls on CUDA/NV may round inputs to tf32 on tensor cores (as torch's allow_tf32;
                 default 0: fp32 matmuls stay exact fp32)
BAREGRAD_DIST_TIMEOUT  seconds a collective of baregrad.distributed waits for the other ranks before it raises
                 DistributedError (default 300, torch's default; init_process_group(timeout=...) overrides it)
BAREGRAD_PROFILE path: profile the whole run; at exit write a Chrome trace there (Perfetto, chrome://tracing, or
                 `baregrad viz PATH`) and print the profile table on stderr
VIZ              1: profile the whole run; at exit serve the viz page on 127.0.0.1 (port BAREGRAD_VIZ_PORT, default
                 8642) until Ctrl-C
BAREGRAD_QUIET   1: no progress bars on stderr (they show only when stderr is a terminal anyway)
"""
from __future__ import annotations

import os


def getenv(name: str, default: int = 0) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


DEBUG = getenv("DEBUG")
BEAM = getenv("BEAM")


def cache_dir() -> str:
    return os.environ.get("BAREGRAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "baregrad")


def requested_device() -> str | None:
    name = os.environ.get("BAREGRAD_DEVICE")
    return name.upper() if name else None


def profile_path() -> str | None:
    return os.environ.get("BAREGRAD_PROFILE") or None


def viz_enabled() -> bool:
    return getenv("VIZ") > 0


def viz_port() -> int:
    return getenv("BAREGRAD_VIZ_PORT", 8642)


def quiet() -> bool:
    return getenv("BAREGRAD_QUIET") > 0


def distributed_timeout() -> float:
    """Seconds a collective waits for its peers (BAREGRAD_DIST_TIMEOUT, default 300 as torch.distributed)."""
    try:
        value = float(os.environ.get("BAREGRAD_DIST_TIMEOUT", 300))
    except ValueError:
        return 300.0
    return value if value > 0 else 300.0
