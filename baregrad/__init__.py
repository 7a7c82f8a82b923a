"""baregrad: a small deep-learning framework that compiles its own kernels.

`import baregrad` loads the API only: no device is probed and no backend is imported until a tensor
needs one.
"""
from baregrad import dtype as dtypes
from baregrad.autograd import no_grad, set_grad_enabled
from baregrad.dtype import (
    DType,
    bfloat16,
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from baregrad.errors import (
    ArgumentError,
    BaregradWarning,
    BoundsError,
    CacheWarning,
    CompileError,
    DeviceError,
    DTypeError,
    Error,
    FormatError,
    OutOfMemoryError,
    ShapeError,
    StaleReadError,
)
from baregrad.lazy import lazy_submodules
from baregrad.random import manual_seed
from baregrad.stats import counters, reset_counters
from baregrad.tensor import Tensor, realize_all

half, float, double, long, int, short = float16, float32, float64, int64, int32, int16  # noqa: A001 - torch names
bool = bool_  # noqa: A001 - torch name

tensor = Tensor


def jit(fn):
    """Decorator: capture the kernels of `fn` and replay them (baregrad.tensor_jit, loaded on first use so that
    `import baregrad` does not pull in the engine and codegen)."""
    from baregrad.tensor_jit import jit as _jit
    return _jit(fn)


def devices() -> list:
    """Every known device, whether it works here, and why not."""
    from baregrad.device import describe_devices
    return describe_devices()


def default_device() -> str:
    from baregrad.device import default_device_name
    return default_device_name()


# bg.profile(): the profiler (a callable package, see baregrad/profile/__init__.py); BAREGRAD_PROFILE / VIZ start
# one for the whole run
from baregrad import profile  # noqa: E402
from baregrad.profile.memory import memory_summary  # noqa: E402
from baregrad.profile.session import start_from_environment as _start_from_environment  # noqa: E402

_start_from_environment()


# torch-style subpackages: `bg.nn.Linear` works after `import baregrad`; each loads on first use
SUBPACKAGES = ("nn", "optim", "onnx", "distributed", "models")
__getattr__ = lazy_submodules(__name__, SUBPACKAGES)

__all__ = ["Tensor", "tensor", "dtypes", "DType", "bool_", "float16", "bfloat16", "float32", "float64", "int8",
           "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "no_grad", "set_grad_enabled",
           "manual_seed", "counters", "reset_counters", "Error", "ShapeError", "DTypeError", "DeviceError",
           "FormatError", "CompileError", "ArgumentError", "BoundsError", "StaleReadError", "OutOfMemoryError",
           "BaregradWarning", "CacheWarning", "realize_all", "devices", "default_device", "jit", "profile",
           "memory_summary"]

# checkpoints: torch.save / torch.load's zip format (baregrad.nn.state, imported on first use)
from os import PathLike as _PathLike  # noqa: E402
from typing import Any as _Any  # noqa: E402


def save(obj: _Any, path: str | _PathLike) -> None:
    """torch.save: write Tensors and None/bool/int/float/str, lists, tuples and dicts of them (state_dicts,
    optimizer state, epoch numbers) as a zip checkpoint torch.load(weights_only=True) reads; atomic."""
    from baregrad.nn.state.torch_save import save_torch_zip
    save_torch_zip(obj, path)


def load(path: str | _PathLike, device: _Any = None) -> _Any:
    """torch.load: read a torch.save checkpoint, zip or legacy format (whitelisted unpickling only), tensors on
    `device`."""
    from baregrad.nn.state.torch_checkpoint import torch_load
    return torch_load(path, device=device)


__all__ += ["save", "load"]

# torch's free functions (torch.zeros, torch.where, torch.einsum, torch.hstack, ...), from one table. The names of
# builtins (sum, max, abs, ...) become package attributes but stay out of __all__, so `import *` keeps the builtins;
# code in this file below this point sees baregrad's sum/max/min, not Python's.
from baregrad.tensor_ops.functions import BUILTIN_NAMES, linalg, torch_functions  # noqa: E402

_FUNCTIONS = {k: v for k, v in torch_functions(Tensor).items() if k not in globals()}  # never replace a name above
globals().update(_FUNCTIONS)
__all__ += ["linalg", *(k for k in _FUNCTIONS if k not in BUILTIN_NAMES)]
