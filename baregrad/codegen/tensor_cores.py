"""Tensor-core shapes per architecture, as data: which mma.sync instruction multiplies which dtypes where.

Each entry is one warp-wide PTX `mma.sync` shape. The matmul plan (codegen/gpu.py) picks the first
entry whose input dtype matches and whose minimum architecture the device meets; nothing else in the
compiler knows about tensor cores. Fragment layouts (which lane holds which element) follow from the shape
and element width, as the PTX ISA defines them for the m16n8kK family; they live in the template.
"""
from __future__ import annotations

from baregrad import dtype as dt
from baregrad.ir.launch import TensorCore

TENSOR_CORES: tuple[TensorCore, ...] = (
    TensorCore(16, 8, 16, dt.float16, "f16", 80, 4, 2),
    TensorCore(16, 8, 16, dt.bfloat16, "bf16", 80, 4, 2),
    TensorCore(16, 8, 8, dt.float32, "tf32", 80, 4, 2),
)


def tensor_core_for(d: dt.DType, arch: int, allow_tf32: bool = False) -> TensorCore | None:
    """The tensor-core shape for inputs of dtype d on sm_<arch>, or None (then the shared register tile)."""
    if d is dt.float32 and not allow_tf32:
        return None
    return next((tc for tc in TENSOR_CORES if tc.dtype_in is d and arch >= tc.min_arch), None)
