"""CUDAProgram's kernel-parameter arrays, checked without a GPU: each launch passes pointers to the addresses
of this call's buffers, and the arrays are reused across launches of the same arity."""
import ctypes
from types import SimpleNamespace

from baregrad.device import cuda_api as api
from baregrad.device.cuda import CUDAProgram


class _RecordingDriver:
    """Stands in for cuda_api.Driver: reads the addresses the kernelParams array points at, as libcuda would."""

    def __init__(self) -> None:
        self.launched: list[list[int]] = []

    launch_arguments = staticmethod(api.Driver.launch_arguments)

    def launch_prepared(self, arguments: tuple) -> int:
        params = arguments[9]  # cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, stream, kernelParams, extra)
        self.launched.append([ctypes.c_uint64.from_address(params[i]).value for i in range(self.n_args)])
        return api.CUDA_SUCCESS


def _program(driver: _RecordingDriver) -> CUDAProgram:
    device = SimpleNamespace(drv=driver, stream=0)
    launch = SimpleNamespace(name="k", grid=(1, 1, 1), block=(1, 1, 1), smem=0)
    return CUDAProgram(device, 0, [(0, launch)])


def test_each_launch_passes_its_own_addresses():
    driver = _RecordingDriver()
    program = _program(driver)
    driver.n_args = 3
    program(0x1000, 0x2000, 0x3000)
    program(0x4000, 0x5000, 0x6000)
    driver.n_args = 1
    program(0x7000)
    assert driver.launched == [[0x1000, 0x2000, 0x3000], [0x4000, 0x5000, 0x6000], [0x7000]]


def test_arrays_are_built_once_per_arity():
    program = _program(_RecordingDriver())
    assert program.argument_arrays(2) is program.argument_arrays(2)
    assert program.argument_arrays(2) is not program.argument_arrays(3)
