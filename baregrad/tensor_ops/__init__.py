"""Mixins that give Tensor the rest of the PyTorch API. Each module holds one family of ops; every op is written
with existing Tensor methods, so it stays lazy, fuses with its neighbours, and is differentiable.

- math_ops:   elementwise math beyond the primitives (inverse trig, hyperbolic, hypot, logaddexp, ...)
- reduce_ops: reductions built on sum/max (count_nonzero, aminmax, nansum, std_mean, ...)
- sort_ops:   sort/argsort/topk/median/cummax by comparison counting (no data-dependent sync)
- shape_ops:  movement-only helpers (roll, movedim, tile, diff, meshgrid, ...)
- linalg:     einsum, tril/triu, diagonal, norms, cross, addmm; also the `baregrad.linalg` namespace
- alias_ops:  torch's other names (greater, divide, swapdims, ...), metadata, new_*, and shape helpers
              (rot90, tensor_split, hsplit, take, unfold, sum_to_size, kron, ...)
"""
