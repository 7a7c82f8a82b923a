"""Building pushbuffer command streams: method headers followed by data dwords, plus the few compound
commands the driver needs (semaphore acquire/release, linear copy, QMD launch, object binding).
"""
from __future__ import annotations

from array import array

from . import methods as m


class Commands:
    """An append-only list of pushbuffer dwords."""

    def __init__(self) -> None:
        self.words = array("I")

    def method(self, subchannel: int, method: int, *data: int) -> Commands:
        self.words.append(m.method_header(subchannel, method, len(data)))
        self.words.extend([d & 0xFFFFFFFF for d in data])
        return self

    def bind(self, subchannel: int, cls: int) -> Commands:
        return self.method(subchannel, m.HostMethod.SET_OBJECT, cls)

    def _semaphore(self, va: int, value: int, execute: int) -> Commands:
        # SEM_ADDR_LO/HI, SEM_PAYLOAD_LO/HI, SEM_EXECUTE are five consecutive methods
        return self.method(m.Subchannel.HOST, m.HostMethod.SEM_ADDR_LO, va & 0xFFFFFFFF, va >> 32,
                           value & 0xFFFFFFFF, value >> 32, execute)

    def release(self, va: int, value: int, timestamp: bool = False) -> Commands:
        """Write 64-bit `value` at `va` once all earlier work on this channel is done (and a ns timestamp at va+8)."""
        execute = (m.SEM_EXECUTE_OPERATION_RELEASE | m.SEM_EXECUTE_RELEASE_WFI_EN | m.SEM_EXECUTE_PAYLOAD_SIZE_64BIT
                   | (m.SEM_EXECUTE_RELEASE_TIMESTAMP_EN if timestamp else 0))
        return self._semaphore(va, value, execute)

    def acquire(self, va: int, value: int) -> Commands:
        """Stall this channel until the 64-bit value at `va` is >= `value`."""
        return self._semaphore(va, value, m.SEM_EXECUTE_OPERATION_ACQ_CIRC_GEQ | m.SEM_EXECUTE_PAYLOAD_SIZE_64BIT)

    def copy(self, dst: int, src: int, nbytes: int) -> Commands:
        """Copy-engine linear copy between two GPU virtual addresses, split to fit LINE_LENGTH_IN."""
        done = 0
        while done < nbytes:
            n = min(nbytes - done, m.COPY_LINE_MAX)
            s, d = src + done, dst + done
            self.method(m.Subchannel.COPY, m.CopyMethod.OFFSET_IN_UPPER, s >> 32, s & 0xFFFFFFFF,
                        d >> 32, d & 0xFFFFFFFF)
            self.method(m.Subchannel.COPY, m.CopyMethod.LINE_LENGTH_IN, n)
            self.method(m.Subchannel.COPY, m.CopyMethod.LAUNCH_DMA, m.LAUNCH_DMA_LINEAR_COPY)
            done += n
        return self

    def launch(self, qmd_va: int) -> Commands:
        """Hand the compute engine the QMD at `qmd_va` (256-byte aligned) and schedule it."""
        if qmd_va % 256:
            raise ValueError(f"QMD at 0x{qmd_va:x} is not 256-byte aligned")
        self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SEND_PCAS_A, qmd_va >> 8)
        return self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SEND_SIGNALING_PCAS2_B,
                           m.PCAS_ACTION_PREFETCH_SCHEDULE)

    def compute_windows(self, local_window: int, shared_window: int) -> Commands:
        self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SET_SHADER_LOCAL_MEMORY_WINDOW_A, local_window >> 32,
                    local_window & 0xFFFFFFFF)
        return self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SET_SHADER_SHARED_MEMORY_WINDOW_A,
                           shared_window >> 32, shared_window & 0xFFFFFFFF)

    def local_memory(self, va: int, bytes_per_tpc: int, max_sm_count: int) -> Commands:
        self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SET_SHADER_LOCAL_MEMORY_A, va >> 32, va & 0xFFFFFFFF)
        return self.method(m.Subchannel.COMPUTE, m.ComputeMethod.SET_SHADER_LOCAL_MEMORY_NON_THROTTLED_A,
                           bytes_per_tpc >> 32, bytes_per_tpc & 0xFFFFFFFF, max_sm_count)


# The one hot path: a kernel launch followed by the timeline release, as plain dwords (what Commands.launch then
# Commands.release write), so an eager launch builds no Commands object. tests/device/nv checks the two agree.
_PCAS_A = m.method_header(m.Subchannel.COMPUTE, m.ComputeMethod.SEND_PCAS_A, 1)
_PCAS2_B = m.method_header(m.Subchannel.COMPUTE, m.ComputeMethod.SEND_SIGNALING_PCAS2_B, 1)
_SEMAPHORE = m.method_header(m.Subchannel.HOST, m.HostMethod.SEM_ADDR_LO, 5)
_RELEASE = m.SEM_EXECUTE_OPERATION_RELEASE | m.SEM_EXECUTE_RELEASE_WFI_EN | m.SEM_EXECUTE_PAYLOAD_SIZE_64BIT


def launch_then_release(qmd_va: int, sem_va: int, value: int) -> list[int]:
    """Dwords that launch the QMD at `qmd_va` (256-byte aligned) and then release `value` at `sem_va`."""
    return [_PCAS_A, qmd_va >> 8, _PCAS2_B, m.PCAS_ACTION_PREFETCH_SCHEDULE,
            _SEMAPHORE, sem_va & 0xFFFFFFFF, sem_va >> 32, value & 0xFFFFFFFF, value >> 32, _RELEASE]
