"""Probe for PYTHON: the reference interpreter needs nothing, so it always may work."""
from __future__ import annotations


def probe() -> str | None:
    return None
