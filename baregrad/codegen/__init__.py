"""From a kernel's tensor graph to a linear program: index lowering, loop opts, linearization."""
