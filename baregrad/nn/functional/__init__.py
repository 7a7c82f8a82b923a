"""torch.nn.functional, as compositions of lazy Tensor methods: one module per family, gathered here.

common: activations, linear, embedding, convolution and pooling, normalization, attention, the main losses,
interpolate; loss: the other losses; pointwise: more activations, distances, random layers; spatial: pixel shuffle,
fold/unfold, 3-d and adaptive pooling, grid sampling. Shared helpers live in `helpers`.
"""
from baregrad.nn.functional.common import *  # noqa: F401,F403
from baregrad.nn.functional.loss import *  # noqa: F401,F403
from baregrad.nn.functional.pointwise import *  # noqa: F401,F403
from baregrad.nn.functional.spatial import *  # noqa: F401,F403
from baregrad.nn.modules.embedding_bag import embedding_bag  # noqa: E402,F401 - with nn.EmbeddingBag
