"""The NCCL backend without a GPU: the library loads from the nvidia-nccl wheel when it is installed, and asking
for backend 'nccl' on a machine with no CUDA device is a clear DeviceError (not a crash)."""
import importlib.util
import os

import pytest

from baregrad.distributed import nccl
from baregrad.errors import DeviceError
from tests.distributed.mpi_helpers import require_mpi


def test_library_loads_when_installed():
    if not nccl.library_paths():
        pytest.skip("libnccl not installed (pip install nvidia-nccl-cu13)")
    lib = nccl.load_library()
    assert nccl.nccl_version(lib) >= 20000  # 2.x as major*10000 + minor*100 + patch


@pytest.mark.skipif(os.path.exists("/dev/nvidiactl"), reason="a GPU driver is present: the error path is not taken")
def test_no_gpu_is_a_device_error():
    if not nccl.library_paths():
        with pytest.raises(DeviceError, match="nvidia-nccl"):
            nccl.load_library()
        return
    require_mpi()
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py not installed")
    import baregrad.distributed as dist
    with pytest.raises(DeviceError, match="CUDA"):
        dist.init_process_group("nccl", timeout=10)
    assert not dist.is_initialized()
