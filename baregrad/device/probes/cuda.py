"""Probe for CUDA: NVIDIA's kernel driver is loaded (/dev/nvidiactl). Also the CUDA compiler search NV's probe
shares: nvcc on PATH or a libnvrtc in the usual places (file checks; nothing is loaded)."""
from __future__ import annotations

import glob
import os
import shutil
import sys

from baregrad import config


def probe() -> str | None:
    return None if os.path.exists("/dev/nvidiactl") else "no /dev/nvidiactl: no NVIDIA GPU driver"


def cuda_compiler_found() -> bool:
    """nvcc on PATH or a libnvrtc under the CUDA toolkit roots or a pip nvidia-* package."""
    if shutil.which("nvcc"):
        return True
    roots = config.cuda_roots() + ["/usr/local/cuda"] + glob.glob("/usr/local/cuda-*")
    dirs = [os.path.join(r, "lib64") for r in roots] + [os.path.join(p, "nvidia", "*", "lib") for p in sys.path]
    return any(glob.glob(os.path.join(d, "libnvrtc.so*")) for d in dirs)
