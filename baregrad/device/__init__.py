"""The device registry and the contracts every backend implements.

A backend is a `Device` subclass providing:
- an allocator: alloc(nbytes) -> handle, free(handle), copyin(handle, bytes), copyout(handle, nbytes) -> bytes,
- render(LinearProgram) -> a Kernel (ir/launch.py: the source text, and on GPUs its launch plan as data),
  and compile(Kernel, LinearProgram) -> a callable Program,
- Program(*handles) launches; synchronize() waits for the device.
Backends are imported only when used: `describe_devices()` and default selection probe cheaply.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from baregrad import config
from baregrad.errors import DeviceError, OutOfMemoryError, UnsupportedDTypeError

if TYPE_CHECKING:  # the device layer's registry must not import the compiler
    from baregrad.ir.launch import Kernel
    from baregrad.ir.linear import LinearProgram

# name -> (module, class); the order is the preference order for the default device
BACKENDS: dict[str, tuple[str, str]] = {
    "NV": ("baregrad.device.nv.device", "NVDevice"),
    "CUDA": ("baregrad.device.cuda", "CUDADevice"),
    "CPU": ("baregrad.device.cpu", "CPUDevice"),
    "LLVM": ("baregrad.device.llvm", "LLVMDevice"),
    "OPENCL": ("baregrad.device.opencl", "OpenCLDevice"),
    "WEBGPU": ("baregrad.device.webgpu", "WebGPUDevice"),
    "PYTHON": ("baregrad.device.python", "PythonDevice"),
}


SWEEP_BYTES = 32 << 20  # new device memory between sweeps of unreferenced graph nodes
SWEEP_MISSES = 256      # ... or this many cache misses: many small buffers (a JIT replay's outputs) add up slowly


class Device:
    """Base class: a named device with a caching allocator. Subclasses fill in the abstract methods."""
    name = "?"
    kernel_options: Any = None  # a codegen.opt.KernelOptions; None means the defaults
    # dtype name -> why this device cannot compute it (a backend may refine it per physical device when opened)
    unsupported_dtypes: dict[str, str] = {}
    # None, or why NaN and infinities may not survive arithmetic on this device (declared, so tests can skip)
    special_float_values: str | None = None
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

    def __init__(self) -> None:
        self._free_cache: dict[int, list[Any]] = defaultdict(list)
        self._cached_bytes = 0
        self.live_bytes = 0  # bytes this device's allocator holds (in use or cached): named in out-of-memory errors
        self._since_sweep = self._misses = 0  # new device memory and cache misses since the last node sweep

    # ---- allocator ----
    def alloc_raw(self, nbytes: int) -> Any:
        raise NotImplementedError

    def free_raw(self, handle: Any, nbytes: int) -> None:
        pass

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        raise NotImplementedError

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        raise NotImplementedError

    def alloc(self, nbytes: int) -> Any:
        cached = self._free_cache.get(nbytes)
        if not cached and (self._since_sweep > SWEEP_BYTES or self._misses > SWEEP_MISSES):
            # dead tensors' buffers can still be held by graph nodes in the hash-consing table: release them
            # (into the cache) before asking the device for more
            from baregrad.ir.node import sweep
            sweep()
            self._since_sweep = self._misses = 0
            cached = self._free_cache.get(nbytes)
        if cached:
            self._cached_bytes -= nbytes
            handle = cached.pop()
            if not cached:
                del self._free_cache[nbytes]
            return handle
        self._since_sweep += nbytes
        self._misses += 1
        try:
            handle = self.alloc_raw(nbytes)
        except (MemoryError, DeviceError):
            self.clear_cache()  # cached free buffers may be what stands in the way
            try:
                handle = self.alloc_raw(nbytes)
            except MemoryError as e:  # OutOfMemoryError included: add the size asked and the live total
                raise self.out_of_memory(nbytes, e) from e
        self.live_bytes += nbytes
        return handle

    def out_of_memory(self, nbytes: int, cause: BaseException) -> OutOfMemoryError:
        """The error for an allocation of `nbytes` the device cannot give; the process stays usable."""
        in_use = self.live_bytes - self._cached_bytes
        return OutOfMemoryError(f"{self.name} out of memory: asked for {format_bytes(nbytes)}, with "
                                f"{format_bytes(in_use)} live in baregrad buffers on {self.name} "
                                f"({cause or type(cause).__name__})")

    def free(self, handle: Any, nbytes: int) -> None:
        """Keep the buffer for reuse by an allocation of the same size. Over cache_limit(), the oldest cached
        sizes are returned to the device first: the buffer just freed is the likeliest to be asked for again
        (a loop realizing the same graph frees and re-allocates the same sizes every step)."""
        limit = self.cache_limit()
        if nbytes > limit:
            self.free_raw(handle, nbytes)
            self.live_bytes -= nbytes
            return
        while self._cached_bytes + nbytes > limit:
            size = next(iter(self._free_cache))  # dicts keep insertion order: the size cached longest ago
            old = self._free_cache[size]
            if old:
                self.free_raw(old.pop(0), size)
                self._cached_bytes -= size
                self.live_bytes -= size
            if not old:
                del self._free_cache[size]
        self._free_cache[nbytes].append(handle)
        self._cached_bytes += nbytes

    def cache_limit(self) -> int:
        return 1 << 30

    def clear_cache(self) -> None:
        for nbytes, handles in self._free_cache.items():
            for h in handles:
                self.free_raw(h, nbytes)
                self.live_bytes -= nbytes
        self._free_cache.clear()
        self._cached_bytes = 0

    # ---- compiler and runtime ----
    def render(self, prog: LinearProgram) -> Kernel:
        raise NotImplementedError

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        raise NotImplementedError

    def synchronize(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<Device {self.name}>"


def format_bytes(n: int) -> str:
    """'4.00 GiB (4294967296 bytes)': readable, and exact for whoever compares numbers."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.2f} {unit} ({n} bytes)"
    return f"{n} bytes"


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
        module, cls = BACKENDS[base]
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


def _quick_probe(name: str) -> str | None:
    """A cheap guess at why a device cannot work here (None: it may work). No backend is imported."""
    if name == "PYTHON":
        return None
    if name == "CPU":
        cc = os.environ.get("CC", "cc")
        return None if shutil.which(cc) else f"no C compiler: {cc!r} not found (set CC or install gcc)"
    if name == "NV":
        mock = os.environ.get("BAREGRAD_NV_MOCK") == "1"
        if not mock and not os.path.exists("/dev/nvidiactl"):
            return "no /dev/nvidiactl: no NVIDIA kernel driver (BAREGRAD_NV_MOCK=1 runs NV on its mock)"
        return None if cuda_compiler_found() else "no CUDA compiler for NV kernels: neither nvcc nor libnvrtc " \
                                                    "found (pip install nvidia-cuda-nvrtc, or put nvcc on PATH)"
    if name == "CUDA":
        if not os.path.exists("/dev/nvidiactl"):
            return "no /dev/nvidiactl: no NVIDIA GPU driver"
        return None
    if name == "LLVM":
        return None if importlib.util.find_spec("llvmlite") else "llvmlite not installed (pip install llvmlite)"
    if name == "OPENCL":
        return _opencl_probe()
    if name == "WEBGPU":
        return _webgpu_probe()
    return "unknown"


def _opencl_probe() -> str | None:
    """libOpenCL (the ICD loader) and at least one registered driver; file checks only."""
    import ctypes.util
    if not ctypes.util.find_library("OpenCL"):
        return "libOpenCL not found (apt-get install ocl-icd-libopencl1 pocl-opencl-icd)"
    vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
    if os.path.isdir(vendors) and not any(f.endswith(".icd") for f in os.listdir(vendors)):
        return f"libOpenCL found but no OpenCL driver registered in {vendors} (apt-get install pocl-opencl-icd, " \
               "or a GPU vendor's OpenCL driver)"
    return None


def _webgpu_probe() -> str | None:
    """The wgpu package and, on Linux, a Vulkan driver manifest for wgpu-native to load."""
    if not importlib.util.find_spec("wgpu"):
        return "wgpu not installed (pip install wgpu)"
    if not sys.platform.startswith("linux") or os.environ.get("VK_ICD_FILENAMES") or os.environ.get("VK_DRIVER_FILES"):
        return None
    folders = ("/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d")
    if any(os.path.isdir(d) and os.listdir(d) for d in folders):
        return None
    return "no Vulkan driver for wgpu (apt-get install mesa-vulkan-drivers libvulkan1, or a GPU driver)"


def cuda_compiler_found() -> bool:
    """nvcc or a libnvrtc is installed (device/nvcc.py's file check; nothing is loaded)."""
    from baregrad.device.nvcc import compiler_found
    return compiler_found()


_DEFAULT: str | None = None


def default_device_name() -> str:
    global _DEFAULT
    if _DEFAULT is None:
        requested = config.requested_device()
        if requested:
            _DEFAULT = canonical_name(requested)
        else:
            # NV's mock is a test harness (kernels run as CPU twins), never a default
            mock = os.environ.get("BAREGRAD_NV_MOCK") == "1"
            _DEFAULT = next(n for n in ("NV", "CUDA", "CPU", "PYTHON") if not (n == "NV" and mock) and _works(n))
    return _DEFAULT


def set_default_device(name: str) -> None:
    global _DEFAULT
    _DEFAULT = canonical_name(name)


def _works(name: str) -> bool:
    if _quick_probe(name) is not None:
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
        reason = _quick_probe(name)
        if reason is None:
            try:
                get_device(name)
            except Exception as e:  # noqa: BLE001 - report any failure as the reason
                reason = f"{type(e).__name__}: {e}"
        out.append(DeviceStatus(name, reason is None, reason or "ok"))
    return out
