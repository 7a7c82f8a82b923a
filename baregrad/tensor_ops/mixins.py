"""More Tensor methods (PyTorch names): a mixin that Tensor inherits, kept apart so tensor.py stays the core.

The methods live in baregrad/tensor_ops, one family per module; TensorExtras only gathers them. `one_hot` is
here as a free function because torch has it only as torch.nn.functional.one_hot (F reuses this one).
"""
from __future__ import annotations

from baregrad.tensor_ops.aliases import AliasOps
from baregrad.tensor_ops.arithmetic import ArithmeticOps
from baregrad.tensor_ops.elementwise import MathOps
from baregrad.tensor_ops.hooks import HookOps
from baregrad.tensor_ops.indexing import GatherScatterOps, IndexOps
from baregrad.tensor_ops.inplace import InplaceOps
from baregrad.tensor_ops.linalg import LinalgOps, MatmulOps
from baregrad.tensor_ops.more_math import MoreMathOps
from baregrad.tensor_ops.movement import MovementOps, ShapeOps, one_hot
from baregrad.tensor_ops.multi import ShardOps
from baregrad.tensor_ops.random import RandomOps
from baregrad.tensor_ops.reduce import ReduceOps, ReductionOps
from baregrad.tensor_ops.sort import SortOps
from baregrad.tensor_ops.special import SpecialOps
from baregrad.tensor_ops.statistics import StatsOps


class TensorExtras(ArithmeticOps, ReductionOps, MovementOps, MatmulOps, GatherScatterOps,  # Tensor's core families
                   MathOps, ReduceOps, SortOps, ShapeOps, LinalgOps, AliasOps, MoreMathOps, SpecialOps, StatsOps,
                   IndexOps, RandomOps, InplaceOps, HookOps, ShardOps):
    """Methods beyond the core set. Each decomposes into core Tensor methods."""
    __slots__ = ()


__all__ = ["TensorExtras", "one_hot"]
