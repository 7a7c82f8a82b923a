"""The launcher: `python -m baregrad.distributed.run -n N script.py args...`, a thin wrapper over mpiexec.

Each rank's output lines are prefixed with its rank ("[1] loss 0.3"). Several machines:

    python -m baregrad.distributed.run -n 8 --hostfile hosts.txt train.py

where hosts.txt lists one machine per line as MPI's launcher expects (MPICH: `node1:4`, Open MPI:
`node1 slots=4`); every machine needs the same Python environment and paths, and passwordless ssh from this one.
With MPICH's launcher (hydra) the job is not torn down when one rank dies, so the others can raise
DistributedError themselves within their timeout (--timeout, exported as BAREGRAD_DIST_TIMEOUT).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from baregrad import config


def find_mpiexec() -> str | None:
    """mpiexec beside this Python (the mpich wheel puts it there), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.access(here, os.X_OK) else shutil.which("mpiexec")


def launcher_flavor(mpiexec: str) -> str:
    """'mpich' (hydra), 'openmpi' or 'unknown', from `mpiexec --version`."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout + out.stderr).lower()
    if "hydra" in text or "mpich" in text:
        return "mpich"
    if "open mpi" in text or "openrte" in text or "prrte" in text:
        return "openmpi"
    return "unknown"


def build_command(mpiexec: str, flavor: str, n: int, hostfile: str | None, script: list[str]) -> list[str]:
    cmd = [mpiexec]
    if flavor == "mpich":
        # prefixed output per rank, and survivors keep running when a rank dies (they raise DistributedError)
        cmd += ["-prepend-rank", "-disable-auto-cleanup"]
        if hostfile:
            cmd += ["-f", hostfile]
    elif flavor == "openmpi":
        cmd += ["--tag-output"]
        if hostfile:
            cmd += ["--hostfile", hostfile]
    elif hostfile:
        cmd += ["-hostfile", hostfile]
    return cmd + ["-n", str(n), sys.executable, *script]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baregrad.distributed.run",
                                     description="Start N ranks of a baregrad script under mpiexec.")
    parser.add_argument("-n", "--nproc", type=int, default=1, help="number of ranks (processes)")
    parser.add_argument("--hostfile", help="machines to run on, one per line (see the module docstring)")
    parser.add_argument("--timeout", type=float, help="seconds a collective waits for the other ranks")
    parser.add_argument("script", help="the Python script each rank runs")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    opts = parser.parse_args(argv)
    if opts.nproc < 1:
        parser.error(f"-n must be at least 1, got {opts.nproc}")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        print("baregrad.distributed.run: mpiexec not found; install an MPI library (pip install mpich, or apt-get "
              "install openmpi-bin)", file=sys.stderr)
        return 127
    overrides = {"BAREGRAD_DIST_TIMEOUT": str(opts.timeout)} if opts.timeout is not None else {}
    env = config.child_environment(**overrides)
    cmd = build_command(mpiexec, launcher_flavor(mpiexec), opts.nproc, opts.hostfile, [opts.script, *opts.args])
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
