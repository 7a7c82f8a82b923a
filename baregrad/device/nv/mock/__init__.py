"""An in-process fake of NVIDIA's kernel module and GPU, so the NV driver's whole path runs in CI.

Use `NVDriver(mock=True)` (or BAREGRAD_NV_MOCK=1), and register CPU twins for the kernels you launch:
`register_twin(twin_key(cubin, "add"), fn)`.
"""
from .gpu import GpuFault, MockGpu
from .kernel import HOPPER_CLASSES, MockKernel
from .twins import TwinKey, clear_twins, register_twin, twin_key

__all__ = ["MockKernel", "MockGpu", "GpuFault", "HOPPER_CLASSES", "TwinKey", "twin_key", "register_twin",
           "clear_twins"]
