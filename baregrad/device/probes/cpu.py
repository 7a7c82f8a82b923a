"""Probe for CPU: a C compiler on PATH (CC, default cc)."""
from __future__ import annotations

import shutil

from baregrad import config


def probe() -> str | None:
    cc = config.c_compiler()
    return None if shutil.which(cc) else f"no C compiler: {cc!r} not found (set CC or install gcc)"
