"""Mixins that give Tensor the rest of the PyTorch API. Each module holds one family of ops; every op is written
with existing Tensor methods, so it stays lazy, fuses with its neighbours, and is differentiable.

- elementwise: elementwise math beyond the primitives (inverse trig, hyperbolic, hypot, logaddexp, ...)
- more_math:   addcmul/addcdiv, mv, vdot, dist, renorm, fmax/fmin, logcumsumexp, gcd/lcm, ldexp, bit shifts
- special:     erfc, erfinv, lgamma, digamma as float32 approximations with closed-form gradients
- reduce:      reductions built on sum/max (count_nonzero, aminmax, nansum, std_mean, ...)
- statistics:  quantile/nanquantile, mode, histc, cov, corrcoef
- sort:        sort/argsort/topk/median/cummax by comparison counting (no data-dependent sync)
- movement:    movement-only ops (pad modes, roll, movedim, tile, diff, meshgrid, ...)
- aliases:     torch's other names (greater, divide, swapdims, ...), metadata, new_*, and shape helpers
               (rot90, tensor_split, hsplit, take, unfold, sum_to_size, kron, ...)
- indexing:    scatter_reduce, index_copy, index_fill, index_put, masked_scatter
- linalg:      einsum, tril/triu, diagonal, norms, cross, addmm; also the `baregrad.linalg` namespace
- random:      multinomial, bernoulli, normal_/uniform_/exponential_/random_ and friends; torch.normal
- inplace:     the in-place twins (exp_, clamp_, scatter_, ...) generated from one rule; unsqueeze_, fill_diagonal_
- hooks:       register_hook, retain_grad, retains_grad (called from the backward pass in tensor.py)
- multi:       tensors sharded or replicated over several devices (MultiTensor)
- mixins:      TensorExtras, the class that gathers the mixins above for Tensor to inherit
- functions:   torch's free functions (torch.where, torch.cat, ...) from one table; free_functions: those that
               are no method (hstack, cdist, tensordot, ...)
"""
