"""The device registry, default-device selection, and the `Device` contract every backend implements.

A backend is one module with a `Device` subclass that provides:
- memory: alloc_raw(nbytes) -> handle, free_raw(handle, nbytes), copyin(handle, data), copyout(handle, nbytes)
  -> bytes; the inherited `Allocator` (device/allocator.py) caches freed buffers by size on top of them;
- render(prog: LinearProgram) -> a Kernel (ir/launch.py: the source text, and on GPUs its launch plan as data),
  and compile(kernel, prog) -> a callable Program that launches it with the buffers' handles;
- synchronize(), which waits for the device.
Each backend has an import-light `probe() -> str | None` (None: may work here; else why not); `BACKENDS` names
both, one line per backend. A probe module may be the backend module itself when that imports nothing heavy;
the built-in backends keep theirs in device/probes/ so that `describe_devices()` imports no backend.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from baregrad import config
from baregrad.device.allocator import Allocator
from baregrad.errors import DeviceError, UnsupportedDTypeError

if TYPE_CHECKING:  # the device layer's registry must not import the compiler
    from baregrad.ir.launch import Kernel
    from baregrad.ir.linear import LinearProgram


@dataclass(frozen=True)
class Backend:
    device: str  # "module:Class" of the Device subclass, imported when the device is first opened
    probe: str   # module with the import-light probe()


# name -> backend; the order is the preference order for the default device
BACKENDS: dict[str, Backend] = {
    "NV": Backend("baregrad.device.nv.device:NVDevice", "baregrad.device.probes.nv"),
    "CUDA": Backend("baregrad.device.cuda:CUDADevice", "baregrad.device.probes.cuda"),
    "CPU": Backend("baregrad.device.cpu:CPUDevice", "baregrad.device.probes.cpu"),
    "LLVM": Backend("baregrad.device.llvm:LLVMDevice", "baregrad.device.probes.llvm"),
    "OPENCL": Backend("baregrad.device.opencl:OpenCLDevice", "baregrad.device.probes.opencl"),
    "WEBGPU": Backend("baregrad.device.webgpu:WebGPUDevice", "baregrad.device.probes.webgpu"),
    "PYTHON": Backend("baregrad.device.python:PythonDevice", "baregrad.device.probes.python"),
}


def register_backend(name: str, backend: Backend) -> None:
    """Add (or replace) a backend at run time: an out-of-tree device, or a test's example backend."""
    BACKENDS[name.upper()] = backend


class Device(Allocator):
    """Base class: a named device with a caching allocator. Subclasses fill in the abstract methods."""
    name = "?"
    kernel_options: Any = None  # a codegen.opt.KernelOptions; None means the defaults
    # dtype name -> why this device cannot compute it (a backend may refine it per physical device when opened)
    unsupported_dtypes: dict[str, str] = {}
    # None, or why NaN and infinities may not survive arithmetic on this device (declared, so tests can skip)
    special_float_values: str | None = None
    is_gpu = False  # renders through codegen/gpu.py (CUDA, NV)

    @property
    def wants_row_major_matmul_rhs(self) -> bool:
        """Whether a matmul's right operand should be copied row-major first when it is a transposed buffer
        (x @ W.T): the CPU-side tilers vectorize along the output's contiguous loop and need it; GPU matmul
        kernels read either layout. The copy is a layout choice that belongs in the scheduler (issue 20 item 3);
        until the scheduler makes it, the tensor API asks the device here."""
        return not self.is_gpu

    @property
    def conv_channel_lanes(self) -> int:
        """SIMD lanes of the CPU tiles that vectorize a conv along its output channels (codegen/opt.py), for which
        conv reads its weight channels-last; 0 where the device has no such tiles."""
        opts = self.kernel_options
        return opts.vector_width if getattr(opts, "strided_vectors", False) else 0

    # threads that may compile a new schedule's kernels at once: more than one only where the compiler runs as a
    # separate process (the threads just wait on it) and the device's compile path is thread-safe
    compile_workers = 1

    def supports(self, d: Any) -> str | None:
        """None when this device can compute dtype d, else the reason it cannot."""
        return self.unsupported_dtypes.get(d.name)

    def check_dtypes(self, prog: LinearProgram) -> None:
        """Raise UnsupportedDTypeError (a DTypeError) naming the kernel and the reason when prog uses a dtype this
        device lacks."""
        for d in {ins.dtype for ins in prog.instrs}:
            reason = self.supports(d)
            if reason is not None:
                message = f"device {self.name} cannot run kernel {prog.name} with dtype {d.name}: {reason}"
                raise UnsupportedDTypeError(message, self.name, d.name, reason)

    # ---- compiler and runtime ----
    def render(self, prog: LinearProgram) -> Kernel:
        raise NotImplementedError

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        raise NotImplementedError

    def synchronize(self) -> None:
        pass

    # ---- roofline (the profiler's "% of peak") ----
    _peak_found: tuple = ()  # (Peak or None,) once looked up: a peak may be measured, so it is found once

    def peak(self) -> Any:
        """This device's Peak (device/peak.py: memory GB/s and GFLOP/s per FLOP class) or None where none is known.
        Found on the first call only (the profiler asks when it reports), never at import or on a first op."""
        if not self._peak_found:
            self._peak_found = (self.find_peak(),)
        return self._peak_found[0]

    def find_peak(self) -> Any:
        """A backend's own peak: datasheet figures for a known GPU, a measurement for the host CPU; default none."""
        return None

    def __repr__(self) -> str:
        return f"<Device {self.name}>"


class DeviceStatus(NamedTuple):
    name: str
    works: bool
    reason: str


_OPEN: dict[str, Device] = {}


def canonical_name(name: str) -> str:
    """The registry name of a device: "cpu" -> "CPU", "CPU:0" -> "CPU", "cuda:1" -> "CUDA:1" (an index names one
    of several devices of a backend; on host backends each index is a virtual device, e.g. for sharding tests)."""
    base, _, index = name.partition(":")
    upper = base.upper()
    aliases = {"CLANG": "CPU", "GPU": "CUDA", "CL": "OPENCL", "WGPU": "WEBGPU"}
    upper = aliases.get(upper, upper)
    if upper not in BACKENDS:
        raise DeviceError(f"unknown device {name!r}; known devices: {', '.join(BACKENDS)}")
    if not index:
        return upper
    if not index.isdigit():
        raise DeviceError(f"device {name!r}: the index after ':' must be a non-negative integer")
    return upper if int(index) == 0 else f"{upper}:{int(index)}"


def get_device(name: str | None = None) -> Device:
    """The open device of that name (default: the default device), opening it on first use."""
    device = _OPEN.get(name) if name else None  # the hot path: an already-open device by its own name
    if device is not None:
        return device
    key = canonical_name(name) if name else default_device_name()
    device = _OPEN.get(key)
    if device is None:
        base, _, index = key.partition(":")
        module, cls = BACKENDS[base].device.split(":")
        try:
            backend = getattr(importlib.import_module(module), cls)
        except ImportError as e:
            raise DeviceError(f"device {key} is not available: {e}") from e
        device = _OPEN[key] = backend() if not index else _open_indexed(backend, key, int(index))
    return device


def _open_indexed(backend: type, key: str, index: int) -> Device:
    """Device number `index` of a backend: a GPU backend opens that ordinal; a host backend (its memory is process
    memory) opens another instance of itself, a virtual device that shares the kernel caches."""
    import inspect
    if "ordinal" in inspect.signature(backend.__init__).parameters:
        device = backend(ordinal=index)
        device.name = key  # its kernels load into that GPU's context: cached apart from device 0's
        return device
    if issubclass(backend, _host_memory_class()) or backend.name == "PYTHON":
        return backend()  # keeps the backend's name: compiled kernels run on any instance's memory
    raise DeviceError(f"device {key}: backend {backend.name} opens one device only (use {backend.name})")


def _host_memory_class() -> type:
    from baregrad.device.host_memory import HostMemory
    return HostMemory


def probe(name: str) -> str | None:
    """A cheap guess at why device `name` cannot work here (None: it may work). No backend is imported."""
    base = canonical_name(name).partition(":")[0]
    return importlib.import_module(BACKENDS[base].probe).probe()


_DEFAULT: str | None = None


def default_device_name() -> str:
    global _DEFAULT
    if _DEFAULT is None:
        requested = config.requested_device()
        if requested:
            _DEFAULT = canonical_name(requested)
        else:
            # NV's mock is a test harness (kernels run as CPU twins), never a default
            mock = config.nv_mock()
            _DEFAULT = next(n for n in ("NV", "CUDA", "CPU", "PYTHON") if not (n == "NV" and mock) and _works(n))
    return _DEFAULT


def set_default_device(name: str) -> None:
    global _DEFAULT
    _DEFAULT = canonical_name(name)


def _works(name: str) -> bool:
    if probe(name) is not None:
        return False
    try:
        get_device(name)
        return True
    except Exception:  # noqa: BLE001 - a device that fails to open is simply not chosen
        return False


def describe_devices() -> list[DeviceStatus]:
    """Every known device, whether it works here, and why not."""
    out = []
    for name in BACKENDS:
        reason = probe(name)
        if reason is None:
            try:
                get_device(name)
            except Exception as e:  # noqa: BLE001 - report any failure as the reason
                reason = f"{type(e).__name__}: {e}"
        out.append(DeviceStatus(name, reason is None, reason or "ok"))
    return out
