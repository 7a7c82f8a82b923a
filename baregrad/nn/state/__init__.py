"""Loading and saving model files with bounds checks and no code execution: safetensors, PyTorch checkpoints
(zip and legacy formats, whitelisted unpickling), NumPy pickles such as MNIST, and GGUF with GGML block
quantization.

Every malformed or hostile file raises baregrad.errors.FormatError with a byte offset in the message.
Parsing never needs a Tensor; the functions that return Tensors import baregrad.tensor when called.
"""
from baregrad.nn.state.gguf import GGUFFile, GGUFTensor, GGUFValueType, MetadataType, gguf_load, gguf_tensor, parse_gguf
from baregrad.nn.state.numpy_pickle import NpArray, load_mnist_pickle, load_numpy_pickle
from baregrad.nn.state.quant import LAYOUTS, BlockField, BlockLayout, GGMLType, dequantize_reference
from baregrad.nn.state.safe_pickle import SafeUnpickler, safe_unpickle
from baregrad.nn.state.safetensors import (
                                    SafetensorsEntry,
                                    SafetensorsFile,
                                    SafetensorsHeader,
                                    parse_safetensors,
                                    safe_load,
                                    safe_load_metadata,
                                    safe_save,
)
from baregrad.nn.state.torch_checkpoint import parse_torch_checkpoint, torch_load
from baregrad.nn.state.torch_legacy import parse_torch_legacy
from baregrad.nn.state.torch_save import save_torch_zip
from baregrad.nn.state.torch_zip import StorageRecord, TensorRecord, TorchCheckpoint, parse_torch_zip

__all__ = [
    "safe_load", "safe_load_metadata", "safe_save", "parse_safetensors", "SafetensorsFile", "SafetensorsHeader",
    "SafetensorsEntry",
    "torch_load", "save_torch_zip", "parse_torch_zip", "parse_torch_legacy", "parse_torch_checkpoint",
    "TorchCheckpoint", "TensorRecord", "StorageRecord",
    "safe_unpickle", "SafeUnpickler", "load_numpy_pickle", "load_mnist_pickle", "NpArray",
    "gguf_load", "parse_gguf", "gguf_tensor", "GGUFFile", "GGUFTensor", "GGUFValueType", "MetadataType",
    "GGMLType", "BlockLayout", "BlockField", "LAYOUTS", "dequantize_reference",
]
