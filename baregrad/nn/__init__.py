"""Neural-network layers, optimizers, initializers, and model-file loading (`baregrad.nn.state`).

Layers follow torch.nn's names, constructor arguments, parameter names and default initialization, so a
torch state_dict loads by name. `baregrad.nn.functional` holds the stateless ops they are built from.
"""
from baregrad.lazy import lazy_submodules
from baregrad.nn import functional, init, utils
from baregrad.nn.module import IncompatibleKeys, Module, Parameter
from baregrad.nn.modules.activation import (
                                            ELU,
                                            GELU,
                                            AdaptiveAvgPool2d,
                                            AvgPool1d,
                                            AvgPool2d,
                                            Dropout,
                                            Hardswish,
                                            LeakyReLU,
                                            LogSoftmax,
                                            MaxPool1d,
                                            MaxPool2d,
                                            MaxUnpool1d,
                                            MaxUnpool2d,
                                            ReLU,
                                            Sigmoid,
                                            SiLU,
                                            Softmax,
                                            Tanh,
)
from baregrad.nn.modules.attention import MultiheadAttention
from baregrad.nn.modules.bilinear import Bilinear
from baregrad.nn.modules.container import ModuleDict, ModuleList, Sequential
from baregrad.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from baregrad.nn.modules.embedding_bag import EmbeddingBag
from baregrad.nn.modules.linear import Embedding, Flatten, Identity, Linear, Unflatten
from baregrad.nn.modules.loss import (
                                            BCELoss,
                                            BCEWithLogitsLoss,
                                            CosineEmbeddingLoss,
                                            CrossEntropyLoss,
                                            CTCLoss,
                                            GaussianNLLLoss,
                                            HingeEmbeddingLoss,
                                            HuberLoss,
                                            KLDivLoss,
                                            L1Loss,
                                            MarginRankingLoss,
                                            MSELoss,
                                            MultiLabelMarginLoss,
                                            MultiLabelSoftMarginLoss,
                                            MultiMarginLoss,
                                            NLLLoss,
                                            PoissonNLLLoss,
                                            SmoothL1Loss,
                                            SoftMarginLoss,
                                            TripletMarginLoss,
                                            TripletMarginWithDistanceLoss,
)
from baregrad.nn.modules.norm import (
                                            BatchNorm1d,
                                            BatchNorm2d,
                                            BatchNorm3d,
                                            GroupNorm,
                                            InstanceNorm1d,
                                            InstanceNorm2d,
                                            InstanceNorm3d,
                                            LayerNorm,
                                            LocalResponseNorm,
                                            RMSNorm,
)
from baregrad.nn.modules.padding import *  # noqa: F401,F403 - ZeroPad1d ... CircularPad3d (padding.__all__)
from baregrad.nn.modules.padding import __all__ as _padding_names
from baregrad.nn.modules.param_container import ParameterDict, ParameterList
from baregrad.nn.modules.pointwise import *  # noqa: F401,F403 - CELU ... Dropout3d (pointwise.__all__)
from baregrad.nn.modules.pointwise import __all__ as _pointwise_names
from baregrad.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from baregrad.nn.modules.spatial import (
                                            AdaptiveAvgPool1d,
                                            AdaptiveAvgPool3d,
                                            AdaptiveMaxPool1d,
                                            AdaptiveMaxPool2d,
                                            AdaptiveMaxPool3d,
                                            AvgPool3d,
                                            ChannelShuffle,
                                            Conv3d,
                                            Fold,
                                            MaxPool3d,
                                            PixelShuffle,
                                            PixelUnshuffle,
                                            Unfold,
                                            Upsample,
                                            UpsamplingBilinear2d,
                                            UpsamplingNearest2d,
)
from baregrad.nn.modules.transformer import (
                                            Transformer,
                                            TransformerDecoder,
                                            TransformerDecoderLayer,
                                            TransformerEncoder,
                                            TransformerEncoderLayer,
)

__all__ = ["functional", "init", "utils", "Module", "Parameter", "IncompatibleKeys", "Linear", "Identity", "Flatten",
           "Unflatten", "Embedding", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "GroupNorm", "RMSNorm", "Dropout", "MultiheadAttention", "Sequential",
           "ModuleList", "ModuleDict", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "Hardswish",
           "Softmax", "LogSoftmax", "MaxPool1d", "AvgPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss",
           "HuberLoss", "KLDivLoss"]
__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
__all__ += ["MaxUnpool1d", "MaxUnpool2d"]
__all__ += ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
            "TransformerDecoderLayer", "EmbeddingBag"]
__all__ += ["Bilinear", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm",
            "ParameterList", "ParameterDict", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold", "Unfold",
            "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool3d",
            "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Conv3d", "MaxPool3d", "AvgPool3d",
            *_padding_names]
__all__ += [*_pointwise_names, "PoissonNLLLoss", "GaussianNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
            "CosineEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "MultiLabelMarginLoss",
            "MultiLabelSoftMarginLoss", "MultiMarginLoss", "SoftMarginLoss", "CTCLoss"]

# model files (safetensors, torch zip, GGUF): `bg.nn.state` loads on first use
__getattr__ = lazy_submodules(__name__, ("state",))
