"""Device OPENCL: OpenCL C kernels through libOpenCL, bound with ctypes (no pyopencl).

One context and one in-order queue on the first GPU (else the first device of any kind, e.g. PoCL on the CPU).
Kernels are shaped by codegen/gpu.py and written by render/gpu/writer.py as CUDA's are (work-groups sharing
reduces through local memory and barriers, register-tiled matmuls, float4 loads), within the limits queried here
(work-group size, local memory size and whether it is on-chip, compute units); the launch is the plan rendered
beside the source (ir/launch.py Kernel). Built program binaries are kept in the on-disk compile cache by a hash
of source, device and driver.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
from typing import Any, Callable

from baregrad.codegen import gpu
from baregrad.codegen.gpu_split import GPUKernelOptions
from baregrad.device import Device
from baregrad.device.compile_cache import cache_key, cached_build
from baregrad.errors import CompileError, DeviceError, OutOfMemoryError
from baregrad.ir.launch import Kernel, Launch
from baregrad.ir.linear import LinearProgram
from baregrad.render.cstyle import OPENCL_DIALECT, CRenderer
from baregrad.render.gpu.lang import OpenCLLanguage
from baregrad.render.gpu.writer import render_gpu

INSTALL_HINT = "apt-get install ocl-icd-libopencl1 pocl-opencl-icd (or a GPU vendor's OpenCL driver)"

# cl.h errors that mean "not enough memory" for a buffer
CL_OUT_OF_MEMORY = {-4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
                    -61: "CL_INVALID_BUFFER_SIZE (over the device's largest allocation)"}
# cl.h constants we use
CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ALL = 1 << 1, 1 << 2, 0xFFFFFFFF
CL_DEVICE_TYPE = 0x1000
CL_DEVICE_MAX_COMPUTE_UNITS, CL_DEVICE_MAX_WORK_GROUP_SIZE, CL_DEVICE_SINGLE_FP_CONFIG = 0x1002, 0x1004, 0x101B
CL_DEVICE_LOCAL_MEM_TYPE, CL_DEVICE_LOCAL_MEM_SIZE, CL_LOCAL = 0x1022, 0x1023, 1
CL_DEVICE_NAME, CL_DEVICE_VERSION, CL_DRIVER_VERSION, CL_DEVICE_EXTENSIONS = 0x102B, 0x102F, 0x102D, 0x1030
CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT = 1 << 7
CL_MEM_READ_WRITE = 1 << 0
CL_PROGRAM_BUILD_LOG, CL_PROGRAM_BINARY_SIZES, CL_PROGRAM_BINARIES = 0x1183, 0x1165, 0x1166
ERRORS = {-1: "DEVICE_NOT_FOUND", -2: "DEVICE_NOT_AVAILABLE", -4: "MEM_OBJECT_ALLOCATION_FAILURE",
          -5: "OUT_OF_RESOURCES", -6: "OUT_OF_HOST_MEMORY", -11: "BUILD_PROGRAM_FAILURE", -30: "INVALID_VALUE",
          -36: "INVALID_COMMAND_QUEUE", -38: "INVALID_MEM_OBJECT", -42: "INVALID_BINARY", -46: "INVALID_KERNEL_NAME",
          -48: "INVALID_KERNEL", -51: "INVALID_ARG_SIZE", -52: "INVALID_KERNEL_ARGS", -54: "INVALID_WORK_GROUP_SIZE",
          -61: "INVALID_BUFFER_SIZE", -1001: "PLATFORM_NOT_FOUND_KHR"}

vp, u32, u64, sz = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
PROTOTYPES: dict[str, list] = {
    "clGetPlatformIDs": [u32, ctypes.POINTER(vp), ctypes.POINTER(u32)],
    "clGetDeviceIDs": [vp, u64, u32, ctypes.POINTER(vp), ctypes.POINTER(u32)],
    "clGetDeviceInfo": [vp, u32, sz, vp, ctypes.POINTER(sz)],
    "clCreateContext": [vp, u32, ctypes.POINTER(vp), vp, vp, ctypes.POINTER(ctypes.c_int32)],
    "clCreateCommandQueue": [vp, vp, u64, ctypes.POINTER(ctypes.c_int32)],
    "clCreateBuffer": [vp, u64, sz, vp, ctypes.POINTER(ctypes.c_int32)],
    "clReleaseMemObject": [vp],
    "clEnqueueWriteBuffer": [vp, vp, u32, sz, sz, vp, u32, vp, vp],
    "clEnqueueReadBuffer": [vp, vp, u32, sz, sz, vp, u32, vp, vp],
    "clCreateProgramWithSource": [vp, u32, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(sz),
                                  ctypes.POINTER(ctypes.c_int32)],
    "clCreateProgramWithBinary": [vp, u32, ctypes.POINTER(vp), ctypes.POINTER(sz), ctypes.POINTER(ctypes.c_char_p),
                                  ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32)],
    "clBuildProgram": [vp, u32, ctypes.POINTER(vp), ctypes.c_char_p, vp, vp],
    "clGetProgramBuildInfo": [vp, vp, u32, sz, vp, ctypes.POINTER(sz)],
    "clGetProgramInfo": [vp, u32, sz, vp, ctypes.POINTER(sz)],
    "clReleaseProgram": [vp],
    "clCreateKernel": [vp, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int32)],
    "clSetKernelArg": [vp, u32, sz, vp],
    "clEnqueueNDRangeKernel": [vp, vp, u32, ctypes.POINTER(sz), ctypes.POINTER(sz), ctypes.POINTER(sz), u32, vp, vp],
    "clFinish": [vp],
}


def load_library() -> ctypes.CDLL:
    """libOpenCL (the ICD loader) with argument types set, or DeviceError saying how to install it."""
    path = ctypes.util.find_library("OpenCL")
    try:
        lib = ctypes.CDLL(path or "libOpenCL.so.1")
    except OSError as e:
        raise DeviceError(f"OPENCL needs libOpenCL, which is not installed: {INSTALL_HINT}") from e
    for name, argtypes in PROTOTYPES.items():
        fn = getattr(lib, name)
        # clCreate* return the new object (errors come back through a pointer); the rest return the error code
        fn.argtypes, fn.restype = argtypes, (vp if name.startswith("clCreate") else ctypes.c_int32)
    return lib


def check(code: int, what: str) -> None:
    if code != 0:
        raise DeviceError(f"OpenCL {what} failed: CL_{ERRORS.get(code, 'ERROR')} ({code})")


class OpenCLDevice(Device):
    name = "OPENCL"

    def __init__(self) -> None:
        super().__init__()
        self.cl = load_library()
        self.device_id = self._pick_device()
        self.device_name = self._info_str(CL_DEVICE_NAME)
        self.extensions = set(self._info_str(CL_DEVICE_EXTENSIONS).split())
        self.max_local = self._info_int(CL_DEVICE_MAX_WORK_GROUP_SIZE, sz)
        err = ctypes.c_int32()
        dev = (vp * 1)(self.device_id)
        self.context = self.cl.clCreateContext(None, 1, dev, None, None, ctypes.byref(err))
        check(err.value, "clCreateContext")
        self.queue = self.cl.clCreateCommandQueue(self.context, self.device_id, 0, ctypes.byref(err))
        check(err.value, "clCreateCommandQueue")
        self.unsupported_dtypes = {} if "cl_khr_fp64" in self.extensions else {
            "float64": f"OpenCL device {self.device_name!r} lacks cl_khr_fp64 (no double precision)"}
        pragma = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" if "cl_khr_fp64" in self.extensions else ""
        dialect = dataclasses.replace(OPENCL_DIALECT, preamble=pragma + OPENCL_DIALECT.preamble)
        self.renderer, self.language = CRenderer(dialect), OpenCLLanguage(dialect)
        self.target = self._target()
        self.kernel_options = GPUKernelOptions(sms=self.target.sms)  # long reduces split across compute units
        exact_div = self._info_int(CL_DEVICE_SINGLE_FP_CONFIG, u64) & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT
        # OpenCL allows 2.5 ulp float division by default; we promise C (and torch) results
        self.options = "-cl-fp32-correctly-rounded-divide-sqrt" if exact_div else ""
        self.driver_id = f"{self.device_name} {self._info_str(CL_DEVICE_VERSION)} {self._info_str(CL_DRIVER_VERSION)}"

    def find_peak(self) -> Any:
        """The host's measured peak for a CPU implementation (pocl), a datasheet's for a known GPU, else None."""
        from baregrad.device.peak import gpu_peak, host_peak
        if self._info_int(CL_DEVICE_TYPE, u64) & CL_DEVICE_TYPE_CPU:
            return host_peak()
        return gpu_peak(self.device_name, False)

    # ---- discovery ----
    def _target(self) -> gpu.GPUTarget:
        """The limits kernel shaping works within, as this device reports them."""
        return gpu.GPUTarget(sms=max(1, self._info_int(CL_DEVICE_MAX_COMPUTE_UNITS, u32)),
                             max_threads=self.max_local,
                             local_bytes=self._info_int(CL_DEVICE_LOCAL_MEM_SIZE, u64),
                             local_is_fast=self._info_int(CL_DEVICE_LOCAL_MEM_TYPE, u32) == CL_LOCAL)

    def _pick_device(self) -> Any:
        count = u32()
        code = self.cl.clGetPlatformIDs(0, None, ctypes.byref(count))
        if code != 0 or count.value == 0:
            raise DeviceError(f"OPENCL: no OpenCL platform (no ICD driver registered): {INSTALL_HINT}")
        platforms = (vp * count.value)()
        check(self.cl.clGetPlatformIDs(count.value, platforms, None), "clGetPlatformIDs")
        for kind in (CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ALL):
            for platform in platforms:
                device, n = vp(), u32()
                if self.cl.clGetDeviceIDs(platform, kind, 1, ctypes.byref(device), ctypes.byref(n)) == 0 and n.value:
                    return device
        raise DeviceError(f"OPENCL: the OpenCL platforms have no devices: {INSTALL_HINT}")

    def _info_str(self, param: int) -> str:
        size = sz()
        check(self.cl.clGetDeviceInfo(self.device_id, param, 0, None, ctypes.byref(size)), "clGetDeviceInfo")
        buf = ctypes.create_string_buffer(size.value)
        check(self.cl.clGetDeviceInfo(self.device_id, param, size.value, buf, None), "clGetDeviceInfo")
        return buf.value.decode(errors="replace").strip()

    def _info_int(self, param: int, ctype: Any) -> int:
        out = ctype()
        check(self.cl.clGetDeviceInfo(self.device_id, param, ctypes.sizeof(out), ctypes.byref(out), None),
              "clGetDeviceInfo")
        return out.value

    # ---- allocator ----
    def alloc_raw(self, nbytes: int) -> Any:
        err = ctypes.c_int32()
        mem = self.cl.clCreateBuffer(self.context, CL_MEM_READ_WRITE, max(nbytes, 1), None, ctypes.byref(err))
        if err.value in CL_OUT_OF_MEMORY:
            raise OutOfMemoryError(f"clCreateBuffer: {CL_OUT_OF_MEMORY[err.value]} ({err.value})")
        if err.value != 0:
            raise DeviceError(f"OPENCL could not allocate {nbytes} bytes (CL error {err.value})")
        return vp(mem)

    def free_raw(self, handle: Any, nbytes: int) -> None:
        self.cl.clReleaseMemObject(handle)

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        raw = data if isinstance(data, bytes) else bytes(data)
        if raw:
            check(self.cl.clEnqueueWriteBuffer(self.queue, handle, 1, 0, len(raw), raw, 0, None, None),
                  "clEnqueueWriteBuffer")

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        out = ctypes.create_string_buffer(nbytes)
        if nbytes:
            check(self.cl.clEnqueueReadBuffer(self.queue, handle, 1, 0, nbytes, out, 0, None, None),
                  "clEnqueueReadBuffer")
        return out.raw

    def synchronize(self) -> None:
        check(self.cl.clFinish(self.queue), "clFinish")

    # ---- compiler ----
    def render(self, prog: LinearProgram) -> Kernel:
        self.check_dtypes(prog)
        plan = gpu.plan(prog, self.target, self.language)
        return Kernel(render_gpu(prog, plan, self.language, self.renderer.render), plan)

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        source = kernel.source
        key = cache_key(source, self.driver_id, self.options)
        try:
            path = cached_build(key, ".clbin", lambda out: self._build_binary(source, prog.name, out),
                                target=self.driver_id)
            with open(path, "rb") as f:
                program = self._program_from_binary(f.read())
        except DeviceError:  # a binary the driver no longer accepts: build from source, uncached
            program = self._build(source, prog.name)
        err = ctypes.c_int32()
        handle = self.cl.clCreateKernel(program, prog.name.encode(), ctypes.byref(err))
        check(err.value, f"clCreateKernel({prog.name})")
        return _CLProgram(self, vp(handle), kernel.plan.launches[0])

    def _build(self, source: str, name: str) -> Any:
        err = ctypes.c_int32()
        text = ctypes.c_char_p(source.encode())
        program = self.cl.clCreateProgramWithSource(self.context, 1, ctypes.byref(text), None, ctypes.byref(err))
        check(err.value, "clCreateProgramWithSource")
        dev = (vp * 1)(self.device_id)
        code = self.cl.clBuildProgram(program, 1, dev, self.options.encode(), None, None)
        if code != 0:
            log = self._build_log(program)
            self.cl.clReleaseProgram(program)
            raise CompileError(f"OpenCL build of kernel {name} failed on {self.device_name} "
                               f"(CL error {code}):\n{log}\n--- source ---\n{source}")
        return program

    def _build_log(self, program: Any) -> str:
        size = sz()
        self.cl.clGetProgramBuildInfo(program, self.device_id, CL_PROGRAM_BUILD_LOG, 0, None, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value + 1)
        self.cl.clGetProgramBuildInfo(program, self.device_id, CL_PROGRAM_BUILD_LOG, size.value, buf, None)
        return buf.value.decode(errors="replace")

    def _build_binary(self, source: str, name: str, out: str) -> None:
        program = self._build(source, name)
        size = sz()
        check(self.cl.clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, ctypes.sizeof(size), ctypes.byref(size),
                                       None), "clGetProgramInfo")
        binary = ctypes.create_string_buffer(size.value)
        pointers = (vp * 1)(ctypes.cast(binary, vp))
        check(self.cl.clGetProgramInfo(program, CL_PROGRAM_BINARIES, ctypes.sizeof(pointers), pointers, None),
              "clGetProgramInfo")
        self.cl.clReleaseProgram(program)
        with open(out, "wb") as f:
            f.write(binary.raw)

    def _program_from_binary(self, binary: bytes) -> Any:
        err, status = ctypes.c_int32(), ctypes.c_int32()
        dev = (vp * 1)(self.device_id)
        data = ctypes.c_char_p(binary)
        program = self.cl.clCreateProgramWithBinary(self.context, 1, dev, ctypes.byref(sz(len(binary))),
                                                    ctypes.byref(data), ctypes.byref(status), ctypes.byref(err))
        check(err.value or status.value, "clCreateProgramWithBinary")
        check(self.cl.clBuildProgram(program, 1, dev, self.options.encode(), None, None), "clBuildProgram(binary)")
        return program



class _CLProgram:
    """A kernel launched as its plan says: grid x block work-items in groups of block."""

    def __init__(self, device: OpenCLDevice, kernel: Any, launch: Launch):
        self.device, self.kernel = device, kernel
        self.local = launch.block[0]
        self.global_ = launch.grid[0] * launch.block[0]

    def __call__(self, *handles: Any) -> None:
        if self.global_ == 0:
            return
        cl = self.device.cl
        for i, h in enumerate(handles):  # one handle per kernel parameter, in order
            check(cl.clSetKernelArg(self.kernel, i, ctypes.sizeof(vp), ctypes.byref(h)), "clSetKernelArg")
        check(cl.clEnqueueNDRangeKernel(self.device.queue, self.kernel, 1, None, ctypes.byref(sz(self.global_)),
                                        ctypes.byref(sz(self.local)), 0, None, None), "clEnqueueNDRangeKernel")


__all__ = ["OpenCLDevice"]
