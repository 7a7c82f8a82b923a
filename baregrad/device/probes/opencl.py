"""Probe for OPENCL: libOpenCL (the ICD loader) and at least one registered driver; file checks only."""
from __future__ import annotations

import ctypes.util
import os

from baregrad import config


def probe() -> str | None:
    if not ctypes.util.find_library("OpenCL"):
        return "libOpenCL not found (apt-get install ocl-icd-libopencl1 pocl-opencl-icd)"
    vendors = config.opencl_vendors_dir()
    if os.path.isdir(vendors) and not any(f.endswith(".icd") for f in os.listdir(vendors)):
        return f"libOpenCL found but no OpenCL driver registered in {vendors} (apt-get install pocl-opencl-icd, " \
               "or a GPU vendor's OpenCL driver)"
    return None
