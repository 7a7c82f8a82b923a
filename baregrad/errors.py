"""baregrad's exceptions: one base class, each also subclassing the builtin a Python user would catch."""


class Error(Exception):
    """Base class of every error baregrad raises on purpose."""


class ShapeError(Error, ValueError):
    """Shapes that do not fit the operation (the message names them)."""


class DTypeError(Error, TypeError):
    """A dtype the operation or device does not support."""


class UnsupportedDTypeError(DTypeError):
    """A device cannot run a kernel because it lacks one of its dtypes (one the device declared unsupported).

    `reason` is the device's own explanation (e.g. no cl_khr_fp64), so a test can skip with it."""

    def __init__(self, message: str, device: str = "", dtype: str = "", reason: str = ""):
        super().__init__(message)
        self.device, self.dtype, self.reason = device, dtype, reason


class DeviceError(Error, RuntimeError):
    """A device that is missing, failed, ran out of memory or timed out."""


class FormatError(Error, ValueError):
    """A malformed or hostile file (the message names the offset)."""


class CompileError(Error, RuntimeError):
    """A kernel failed to compile (the message holds the compiler log and source path)."""


class ArgumentError(Error, ValueError):
    """An argument with a value the operation does not accept."""


class BoundsError(Error, IndexError):
    """An index outside the dimension it indexes (the message names both)."""


class StaleReadError(Error, RuntimeError):
    """A lazy tensor read after a buffer it is computed from was written in place (the message names both)."""


class DistributedError(Error, RuntimeError):
    """A collective across processes failed: a rank died, hung past the timeout, or passed a mismatched tensor."""


class OutOfMemoryError(DeviceError, MemoryError):
    """An allocation larger than the device can give (the message names the size asked and the live total).
    Raised before the allocation is tried where the free memory can be known, so the process stays usable."""


class BaregradWarning(UserWarning):
    """Base class of every warning baregrad gives: something went wrong, baregrad recovered, and says how."""


class CacheWarning(BaregradWarning):
    """The on-disk compile cache had a damaged entry (rebuilt) or could not be written (running without it)."""
