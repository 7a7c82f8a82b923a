"""Neural-network layers, optimizers, initializers, and model-file loading (`baregrad.nn.state`).

Layers follow torch.nn's names, constructor arguments, parameter names and default initialization, so a
torch state_dict loads by name. `baregrad.nn.functional` holds the stateless ops they are built from.
"""
from baregrad.nn import functional, init, utils
from baregrad.nn.module import IncompatibleKeys, Module, Parameter
from baregrad.nn.modules.activation import (ELU, GELU, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, Dropout, Hardswish,
                                            LeakyReLU, LogSoftmax, MaxPool1d, MaxPool2d, ReLU, Sigmoid, SiLU, Softmax,
                                            Tanh)
from baregrad.nn.modules.activation import MaxUnpool1d, MaxUnpool2d
from baregrad.nn.modules.attention import MultiheadAttention
from baregrad.nn.modules.container import ModuleDict, ModuleList, Sequential
from baregrad.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from baregrad.nn.modules.linear import Embedding, Flatten, Identity, Linear, Unflatten
from baregrad.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                                      MSELoss, NLLLoss, SmoothL1Loss)
from baregrad.nn.modules.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm

__all__ = ["functional", "init", "utils", "Module", "Parameter", "IncompatibleKeys", "Linear", "Identity", "Flatten",
           "Unflatten", "Embedding", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "GroupNorm", "RMSNorm", "Dropout", "MultiheadAttention", "Sequential",
           "ModuleList", "ModuleDict", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "Hardswish",
           "Softmax", "LogSoftmax", "MaxPool1d", "AvgPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss",
           "HuberLoss", "KLDivLoss"]
__all__ += ["MaxUnpool1d", "MaxUnpool2d"]
