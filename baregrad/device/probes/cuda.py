"""Probe for CUDA: NVIDIA's kernel driver is loaded (/dev/nvidiactl). Also whether a CUDA compiler is installed,
which NV's probe asks (device/nvcc.py does the search)."""
from __future__ import annotations

import os


def probe() -> str | None:
    return None if os.path.exists("/dev/nvidiactl") else "no /dev/nvidiactl: no NVIDIA GPU driver"


def cuda_compiler_found() -> bool:
    """nvcc or a libnvrtc is installed (device/nvcc.py's file check, which imports nothing heavy)."""
    from baregrad.device.nvcc import compiler_found
    return compiler_found()
