"""Probe for LLVM: the llvmlite package is installed (found, not imported)."""
from __future__ import annotations

import importlib.util


def probe() -> str | None:
    return None if importlib.util.find_spec("llvmlite") else "llvmlite not installed (pip install llvmlite)"
