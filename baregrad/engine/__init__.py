"""Realize lazy graphs: schedule them into kernels, compile (cached), run, and replay (JIT)."""
