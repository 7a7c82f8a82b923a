"""Realize lazy graphs: schedule them into kernels, compile (cached), run, and replay (JIT).

The engine's public surface is what each of its modules lists in `__all__`; modules above the engine import nothing
else from it (tests/test_architecture.py checks):
  realize   compute lazy targets now (`realize`), and the write bookkeeping around it
  replay    capture a graph's kernels once and run them again over persistent buffers (models/llama.py)
  capture   the JIT's recording of kernel launches (bg.jit, tensor_jit.py)
  pending   writes in place issued but not yet run
  buffer    the device buffer
schedule (fusion into kernels, memory plan) is internal: it exports nothing.
"""
