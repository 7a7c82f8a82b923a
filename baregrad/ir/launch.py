"""How a GPU kernel is shaped and launched, as data: the plan codegen/gpu.py decides and render/gpu/ writes.

A `GPUPlan` names a strategy (FLAT, VECTOR, BLOCK, MATMUL), the launches (grid, block, dynamic shared memory)
and the strategy's own decisions (which loads go 4-wide, which loops become thread blocks, which matmul tile).
A device's `render` returns a `Kernel`: the source text together with its plan, so nothing parses the plan
back out of the text.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from baregrad import dtype as dt
from baregrad.ir.linear import LoopNode


class Strategy(enum.Enum):
    FLAT = "flat"
    VECTOR = "vector"
    BLOCK = "block"
    MATMUL = "matmul"


@dataclass(frozen=True)
class Launch:
    name: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    smem: int = 0             # dynamic shared memory bytes


@dataclass(frozen=True)
class VectorShape:
    """A single elementwise loop whose loads and store move `lanes` values at a time."""
    tree: list                # the program's loop tree (ir.linear.loop_tree)
    loop: LoopNode
    loads: frozenset[int]     # LOAD instructions read 4-wide
    store: int | None         # the STORE written 4-wide, if its index allows
    threads: int
    unroll: int = 1           # 4-element chunks per thread (CUDA)


@dataclass(frozen=True)
class BlockShape:
    """A thread block per iteration of the `outer` global loops; its threads share the loops inside them."""
    tree: list
    outer: tuple[LoopNode, ...]
    threads: int
    blocks: int


@dataclass(frozen=True)
class Operand:
    """One matmul input: its LOAD and PARAM instructions and its index as strides of the loops."""
    load: int        # the LOAD instruction
    param: int       # its PARAM instruction
    s_mn: int        # element stride along this operand's own output loop (m for A, n for B)
    s_k: int
    s_b: int         # stride along the batch loop (0 when absent or broadcast)
    offset: int


@dataclass(frozen=True)
class MatmulMatch:
    """A lowered matmul found in a linear program: its loops, accumulator and operands."""
    m: LoopNode
    n: LoopNode
    batch: LoopNode | None
    k: LoopNode
    globals_: tuple[LoopNode, ...]
    acc: int
    a: Operand
    b: Operand
    dtype: dt.DType
    sizes: tuple[int, int, int, int]   # M, N, K, batch


@dataclass(frozen=True)
class TensorCore:
    """One warp-wide PTX mma.sync shape (the table of them is codegen/tensor_cores.py)."""
    m: int
    n: int
    k: int
    dtype_in: dt.DType      # the loaded element type (float32 means tf32 inputs)
    ptx_type: str           # the PTX spelling of the input type
    min_arch: int           # sm_XX as an integer, e.g. 80
    a_regs: int             # 32-bit registers per lane holding the A fragment
    b_regs: int             # ... the B fragment (the f32 accumulator always takes 4)

    @property
    def instruction(self) -> str:
        return f"mma.sync.aligned.m{self.m}n{self.n}k{self.k}.row.col.f32.{self.ptx_type}.{self.ptx_type}.f32"


TC_PAD = 8                      # 16-bit elements of padding per shared row in the pipelined tensor-core kernel
TC_CHUNK = 8                    # 16-bit elements per 16-byte cp.async


@dataclass(frozen=True)
class TcConfig:
    """The pipelined tensor-core kernel's tile: block tile, warps, k step and stages of the cp.async ring."""
    bm: int = 128
    bn: int = 128
    bk: int = 32
    warps_m: int = 2
    warps_n: int = 4
    stages: int = 3

    @property
    def threads(self) -> int:
        return 32 * self.warps_m * self.warps_n

    @property
    def warp_m(self) -> int:           # rows of the output tile one warp computes
        return self.bm // self.warps_m

    @property
    def warp_n(self) -> int:
        return self.bn // self.warps_n

    @property
    def mi(self) -> int:               # 16-row mma tiles per warp
        return self.warp_m // 16

    @property
    def ni(self) -> int:               # 8-column mma tiles per warp
        return self.warp_n // 8

    def smem_row(self, k_contiguous: bool, rows_mn: int) -> int:
        """Elements per shared-memory row of an operand stored [mn][k] (k contiguous) or [k][mn]."""
        return (self.bk if k_contiguous else rows_mn) + TC_PAD

    def stage_elems(self, k_contiguous: bool, rows_mn: int) -> int:
        return (rows_mn if k_contiguous else self.bk) * self.smem_row(k_contiguous, rows_mn)

    def smem_bytes(self, a_k_contiguous: bool, b_k_contiguous: bool) -> int:
        """Shared memory of all stages for 16-bit operands."""
        return 2 * self.stages * (self.stage_elems(a_k_contiguous, self.bm) + self.stage_elems(b_k_contiguous, self.bn))


@dataclass(frozen=True)
class MatmulTile:
    """The register-tiled matmul (every GPU language; CUDA beside its tensor cores): a work-group of tx x ty
    work-items, each tm rows x tn columns. Columns come in vectors of `vec` (float4 accumulators, read as float4s
    from local memory or from B where it is contiguous along n), rows in groups of `vec_m` (one float4 read of the
    A tile in local memory per group);
    groups interleave with the neighbours' so neighbouring work-items read neighbouring addresses. Local-memory
    tiles hold bk k-steps of bm (bn) rows each, `pad` floats apart (bank conflicts of the transposing copies)."""
    tx: int
    ty: int
    tm: int
    tn: int
    vec: int
    bk: int = 16      # k steps per local-memory tile
    vec_m: int = 1
    pad: int = 0

    @property
    def threads(self) -> int:
        return self.tx * self.ty

    @property
    def bm(self) -> int:
        return self.ty * self.tm

    @property
    def bn(self) -> int:
        return self.tx * self.tn

    @property
    def lda(self) -> int:
        """Floats between k-steps of the A tile in local memory."""
        return self.bm + self.pad

    @property
    def ldb(self) -> int:
        return self.bn + self.pad

    @property
    def local_floats(self) -> int:
        return self.bk * (self.lda + self.ldb)


class TileCopy(enum.Enum):
    """How a work-group copies one operand's bk x rows tile from global into local memory."""
    K4 = "k4"     # 4 consecutive k of one row per load (the operand is contiguous along k), stored transposed
    MN4 = "mn4"   # 4 consecutive rows (m or n) at one k per load (contiguous along m or n)
    K1 = "k1"     # one element per load, neighbouring work-items along k (contiguous along k, unaligned)
    MN1 = "mn1"   # one element per load, neighbouring work-items along m or n

    @property
    def lanes(self) -> int:
        return 4 if self in (TileCopy.K4, TileCopy.MN4) else 1

    @property
    def along_k(self) -> bool:
        return self in (TileCopy.K4, TileCopy.K1)


CUDA_MATMUL_TILE = 128         # CUDA's tensor-core matmul (not pipelined): a 128 x 128 output tile per block
CUDA_MATMUL_THREADS = 256


@dataclass(frozen=True)
class MatmulShape:
    """How a matched matmul is tiled: CUDA's tensor cores (pipelined or not), or the register tile every GPU
    language shares (CUDA's fp32 too)."""
    match: MatmulMatch
    tensor_core: TensorCore | None = None
    pipeline: TcConfig | None = None     # CUDA: the cp.async + ldmatrix kernel
    tile: MatmulTile | None = None       # the register tile
    use_local: bool = False              # stage A and B tiles through local (shared) memory
    a_copy: TileCopy = TileCopy.MN1      # with use_local: how each operand's tile is copied there
    b_copy: TileCopy = TileCopy.MN1


@dataclass(frozen=True)
class GPUPlan:
    strategy: Strategy
    launches: tuple[Launch, ...]
    vector: VectorShape | None = None
    block: BlockShape | None = None
    matmul: MatmulShape | None = None


@dataclass(frozen=True)
class Kernel:
    """What a device renders: source text, and on GPUs the plan that says how to launch it."""
    source: str
    plan: GPUPlan | None = None


__all__ = ["Strategy", "Launch", "VectorShape", "BlockShape", "Operand", "MatmulMatch", "TensorCore", "TcConfig",
           "MatmulTile", "TileCopy", "MatmulShape", "GPUPlan", "Kernel", "TC_PAD", "TC_CHUNK", "CUDA_MATMUL_TILE",
           "CUDA_MATMUL_THREADS"]
