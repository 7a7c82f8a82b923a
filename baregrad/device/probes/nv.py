"""Probe for NV (our own driver): the NVIDIA kernel module, or its mock (BAREGRAD_NV_MOCK=1), and a CUDA compiler
for the kernels."""
from __future__ import annotations

import os

from baregrad import config
from baregrad.device.probes.cuda import cuda_compiler_found


def probe() -> str | None:
    if not config.nv_mock() and not os.path.exists("/dev/nvidiactl"):
        return "no /dev/nvidiactl: no NVIDIA kernel driver (BAREGRAD_NV_MOCK=1 runs NV on its mock)"
    if not cuda_compiler_found():
        return "no CUDA compiler for NV kernels: neither nvcc nor libnvrtc found (pip install nvidia-cuda-nvrtc, " \
               "or put nvcc on PATH)"
    return None
