"""Choosing engine classes from the GPU's class list, newest first, with a clear error when one is missing."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import DeviceError
from .abi_rm import RmClass
from .qmd import QMD_V3, QMD_V4, QmdLayout

C = RmClass
# Newest first. Blackwell compute classes are absent on purpose: they take QMD v5, which this driver does not build.
COMPUTE_CLASSES = (C.HOPPER_COMPUTE_A, C.ADA_COMPUTE_A, C.AMPERE_COMPUTE_B, C.AMPERE_COMPUTE_A)
COPY_CLASSES = (C.BLACKWELL_DMA_COPY_A, C.HOPPER_DMA_COPY_A, C.AMPERE_DMA_COPY_B, C.AMPERE_DMA_COPY_A)
GPFIFO_CLASSES = (C.BLACKWELL_CHANNEL_GPFIFO_A, C.HOPPER_CHANNEL_GPFIFO_A, C.AMPERE_CHANNEL_GPFIFO_A)
USERMODE_CLASSES = (C.BLACKWELL_USERMODE_A, C.HOPPER_USERMODE_A, C.AMPERE_USERMODE_A, C.TURING_USERMODE_A)
QMD_FOR_COMPUTE = {C.HOPPER_COMPUTE_A: QMD_V4, C.ADA_COMPUTE_A: QMD_V3, C.AMPERE_COMPUTE_B: QMD_V3,
                   C.AMPERE_COMPUTE_A: QMD_V3}


@dataclass(frozen=True)
class ClassChoice:
    compute: RmClass
    copy: RmClass
    gpfifo: RmClass
    usermode: RmClass

    @property
    def qmd(self) -> QmdLayout:
        return QMD_FOR_COMPUTE[self.compute]


def class_name(cls: int) -> str:
    try:
        return f"{RmClass(cls).name} (0x{cls:04x})"
    except ValueError:
        return f"0x{cls:04x}"


def _pick(role: str, wanted: tuple[RmClass, ...], available: set[int]) -> RmClass:
    for cls in wanted:
        if cls in available:
            return cls
    names = ", ".join(class_name(c) for c in wanted)
    offered = ", ".join(class_name(c) for c in sorted(available))
    raise DeviceError(f"NV: the GPU offers no {role} class this driver supports; needs one of {names}. "
                      f"Classes the GPU offers: {offered}")


def choose_classes(available: set[int]) -> ClassChoice:
    """The newest supported class of each role present in `available` (the GPU's class list)."""
    return ClassChoice(compute=_pick("compute", COMPUTE_CLASSES, available),
                       copy=_pick("copy-engine", COPY_CLASSES, available),
                       gpfifo=_pick("GPFIFO channel", GPFIFO_CLASSES, available),
                       usermode=_pick("usermode doorbell", USERMODE_CLASSES, available))
