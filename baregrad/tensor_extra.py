"""More Tensor methods (PyTorch names): a mixin that Tensor inherits, kept apart so tensor.py stays the core."""
from __future__ import annotations


class TensorExtras:
    """Methods beyond the core set. Each decomposes into core Tensor methods."""
    __slots__ = ()
