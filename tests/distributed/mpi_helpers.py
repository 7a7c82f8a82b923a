"""Start a worker script on N ranks (through baregrad.distributed.run, so the launcher is tested too)."""
import importlib.util
import os
import subprocess
import sys

import pytest

from baregrad.distributed.run import find_mpiexec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def require_mpi() -> None:
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py not installed (pip install mpi4py mpich)")
    if find_mpiexec() is None:
        pytest.skip("no mpiexec (pip install mpich, or apt-get install openmpi-bin)")


def worker_device() -> str:
    """CPU when it works here (compiled kernels), else PYTHON."""
    from baregrad.device import describe_devices
    ok = {d.name for d in describe_devices() if d.works}
    return "CPU" if "CPU" in ok else "PYTHON"


def run_ranks(n: int, script: str, *args: str, timeout: float = 120, dist_timeout: float | None = None
              ) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               BAREGRAD_DEVICE=worker_device())
    cmd = [sys.executable, "-m", "baregrad.distributed.run", "-n", str(n)]
    if dist_timeout is not None:
        cmd += ["--timeout", str(dist_timeout)]
    cmd += [os.path.join(HERE, script), *args]
    return subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
