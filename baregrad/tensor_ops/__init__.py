"""Mixins that give Tensor the rest of the PyTorch API. Each module holds one family of ops; every op is written
with existing Tensor methods, so it stays lazy, fuses with its neighbours, and is differentiable.

- math_ops:   elementwise math beyond the primitives (inverse trig, hyperbolic, hypot, logaddexp, ...)
- reduce_ops: reductions built on sum/max (count_nonzero, aminmax, nansum, std_mean, ...)
- sort_ops:   sort/argsort/topk/median/cummax by comparison counting (no data-dependent sync)
- shape_ops:  movement-only helpers (roll, movedim, tile, diff, meshgrid, ...)
- linalg:     einsum, tril/triu, diagonal, norms, cross, addmm; also the `baregrad.linalg` namespace
- alias_ops:  torch's other names (greater, divide, swapdims, ...), metadata, new_*, and shape helpers
              (rot90, tensor_split, hsplit, take, unfold, sum_to_size, kron, ...)
- more_math:  addcmul/addcdiv, mv, vdot, dist, renorm, fmax/fmin, logcumsumexp, gcd/lcm, ldexp, bit shifts, nextafter
- special:    erfc, erfinv, lgamma, digamma as float32 approximations with closed-form gradients
- stats_ops:  quantile/nanquantile, mode, histc, cov, corrcoef
- index_ops:  scatter_reduce, index_copy, index_fill, index_put, masked_scatter
- random_ops: multinomial, bernoulli, normal_/uniform_/exponential_/random_ and friends; torch.normal
- inplace_ops: the in-place twins (exp_, clamp_, scatter_, ...) generated from one rule; unsqueeze_, fill_diagonal_
- hooks:      register_hook, retain_grad, retains_grad (called from the backward pass in tensor.py)
"""
