"""Probe for WEBGPU: the wgpu package and, on Linux, a Vulkan driver manifest for wgpu-native to load."""
from __future__ import annotations

import importlib.util
import os
import sys

from baregrad import config

VULKAN_MANIFEST_DIRS = ("/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d")


def probe() -> str | None:
    if not importlib.util.find_spec("wgpu"):
        return "wgpu not installed (pip install wgpu)"
    if not sys.platform.startswith("linux") or config.vulkan_driver_override():
        return None
    if any(os.path.isdir(d) and os.listdir(d) for d in VULKAN_MANIFEST_DIRS):
        return None
    return "no Vulkan driver for wgpu (apt-get install mesa-vulkan-drivers libvulkan1, or a GPU driver)"
