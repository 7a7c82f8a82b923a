"""baregrad's own NVIDIA driver (device NV): talks to NVIDIA's open kernel module with ioctls, no CUDA runtime.

Public API (everything else in this package is internal):

    drv = NVDriver(device_index=0, mock=None)   # mock=None reads BAREGRAD_NV_MOCK=1; mock=True uses the fake module
    drv.arch            -> "sm_90"                # SM architecture of the GPU
    drv.class_names     -> {"compute": "HOPPER_COMPUTE_A (0xcbc0)", ...}  # engine classes chosen from the GPU's list
    buf = drv.alloc(nbytes, host_visible=False)  # NVBuffer with .va (GPU virtual address) and .nbytes
    drv.copyin(buf, memoryview(src))             # host -> GPU (copy engine through pinned staging)
    drv.copyout(memoryview(dst), buf)            # GPU -> host, returns when the bytes are there
    prg = drv.load_program("add", cubin_bytes)   # kernel `extern "C" __global__ void add(...)` from nvcc -cubin
    secs = prg.launch([out, a, b], global_size=(blocks,), local_size=(threads,), vals=[n], wait=True)
    drv.free(buf); drv.synchronize(); drv.close()

Kernel arguments follow the CUDA source: each pointer parameter takes the next buffer (or raw GPU address) from
`bufs`, each 32-bit parameter the next int from `vals`, in declaration order. `launch` returns GPU seconds when
`wait=True`, else None. Errors are baregrad.errors.DeviceError (driver missing, class missing, GPU fault, timeout)
or ArgumentError (wrong launch arguments).

Hardware-free testing: `NVDriver(mock=True)` runs the same driver code against `mock.MockKernel`, an in-process
fake kernel module whose GPU decodes the GPFIFO and pushbuffers; kernels run as CPU twins registered with
`mock.register_twin(mock.twin_key(cubin, name), fn)`.
"""
from .driver import NVBuffer, NVDriver
from .program import NVProgram

__all__ = ["NVDriver", "NVBuffer", "NVProgram"]
