"""Convolutions: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (weights laid out and initialized as torch
does)."""
from __future__ import annotations

from typing import Any

from baregrad.errors import ArgumentError
from baregrad.nn import functional as F
from baregrad.nn import init
from baregrad.nn.functional.helpers import conv_padding, int_tuple
from baregrad.nn.module import Module, Parameter
from baregrad.tensor import Tensor


class ConvNd(Module):
    n: int = 2
    transposed: bool = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 output_padding: Any = 0, device: Any = None, dtype: Any = None):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"channels {in_channels}->{out_channels} must divide by groups={groups}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ArgumentError(f"padding_mode {padding_mode!r} is not supported")
        n = self.n
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = int_tuple(kernel_size, n)
        self.stride, self.dilation = int_tuple(stride, n), int_tuple(dilation, n)
        self.padding = padding if isinstance(padding, str) else int_tuple(padding, n)
        self.output_padding, self.padding_mode = int_tuple(output_padding, n), padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(Tensor.empty(*shape, device=device, dtype=dtype))
        self.bias = Parameter(Tensor.empty(out_channels, device=device, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init(self.weight, self.bias)

    def _padded(self, x: Tensor) -> tuple[Tensor, Any]:
        """Non-zero padding modes pad here and hand the conv no padding."""
        if self.padding_mode == "zeros":
            return x, self.padding
        # 'same' pads with the mode too (torch does); its odd total puts the extra element after
        pairs = conv_padding(self.padding, self.kernel_size, self.dilation, self.stride)
        pads = [v for before, after in reversed(pairs) for v in (before, after)]
        return F.pad(x, pads, self.padding_mode), 0

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ("valid", (0,) * self.n):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(ConvNd):
    n = 1

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(ConvNd):
    n = 2

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class _ConvTransposeNd(ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        fn = F.conv_transpose1d if self.n == 1 else F.conv_transpose2d
        return fn(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation)

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """torch's choice among the sizes a stride allows: output_size (spatial, or with N and C) picks it."""
        sizes = tuple(output_size)[-self.n:]
        pads = []
        for d, size in enumerate(sizes):
            smallest = ((x.shape[2 + d] - 1) * self.stride[d] - 2 * self.padding[d] +
                        self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not smallest <= size < smallest + self.stride[d]:
                raise ArgumentError(f"output_size {tuple(output_size)} is not reachable: dim {d} can be "
                                    f"{smallest}..{smallest + self.stride[d] - 1}")
            pads.append(size - smallest)
        return tuple(pads)


class ConvTranspose1d(_ConvTransposeNd):
    n = 1


class ConvTranspose2d(_ConvTransposeNd):
    n = 2
