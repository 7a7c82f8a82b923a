"""Fixtures for the NV driver tests: kernels compiled once per session with nvcc, and a clean twin registry."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from baregrad.device.nv.mock import clear_twins

KERNELS_CU = r'''
extern "C" __global__ void add(float* out, const float* a, const float* b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}
extern "C" __global__ void scale(float* out, int n, const float* x, int k) {
  __shared__ float tmp[256];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  tmp[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  if (i < n) out[i] = tmp[threadIdx.x] * k;
}
extern "C" __global__ void neg(float* out, const float* a) {  // pointers only: the eager launch path
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = -a[i];
}
extern "C" __global__ void spill(float* out, const int* idx, int n) {
  float arr[64];  // indexed by a runtime value, so it must live in local memory
  for (int j = 0; j < 64; j++) arr[j] = out[j] * n;
  out[threadIdx.x] = arr[idx[threadIdx.x] & 63];
}
'''


def _compile(tmp: Path, arch: str) -> bytes:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed; cubin tests need it")
    src, out = tmp / "kernels.cu", tmp / f"kernels_{arch}.cubin"
    src.write_text(KERNELS_CU)
    proc = subprocess.run([nvcc, "-cubin", f"-arch={arch}", "-o", str(out), str(src)], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"nvcc could not build a {arch} cubin: {proc.stderr[-500:]}")
    return out.read_bytes()


@pytest.fixture(scope="session")
def cubin_sm90(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _compile(tmp_path_factory.mktemp("sm90"), "sm_90")


@pytest.fixture(scope="session")
def cubin_sm86(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _compile(tmp_path_factory.mktemp("sm86"), "sm_86")


@pytest.fixture(autouse=True)
def _no_leftover_twins():
    clear_twins()
    yield
    clear_twins()
