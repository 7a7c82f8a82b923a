"""Seeing what baregrad did: the profiler (profiler.py, table.py, trace.py), the viz page (viz/), progress bars
(progress.py) and the memory report (memory.py). Engine and device import only profiler and memory: both are
small and import nothing above `device`.

`bg.profile()` is this package called as a function: the package and the function share the name `profile`
(the submodule import would otherwise replace a function of that name on `baregrad`), so the module is callable.
"""
from __future__ import annotations

import sys
import types

from baregrad.profile.memory import memory_summary
from baregrad.profile.profiler import Profiler, profile


class CallableModule(types.ModuleType):
    def __call__(self, graphs: bool = True, record_shapes: bool = True) -> Profiler:
        """`with bg.profile() as prof:` records what runs inside; then prof.table(), prof.export_chrome_trace()."""
        return profile(graphs=graphs, record_shapes=record_shapes)


sys.modules[__name__].__class__ = CallableModule

__all__ = ["Profiler", "memory_summary", "profile"]
