"""torch.save checkpoints of either format, told apart by their first bytes: a zip archive (PyTorch >= 1.6) or the
legacy pickle stream; and torch_load, which turns either into Tensors."""
from __future__ import annotations

import os
from typing import Any

from baregrad.errors import FormatError
from baregrad.nn.state.torch_legacy import parse_torch_legacy
from baregrad.nn.state.torch_zip import TorchCheckpoint, parse_torch_zip, records_to_tensors

# Every zip archive torch writes starts with a local file header; a legacy file starts with pickle's PROTO opcode.
_ZIP_MAGIC = b"PK\x03\x04"


def parse_torch_checkpoint(path: str | os.PathLike) -> TorchCheckpoint:
    """Parse a torch.save checkpoint of either format without creating any Tensor."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_ZIP_MAGIC))
    except IsADirectoryError as e:
        raise FormatError(f"{path}: is a directory, not a model file (at byte 0)") from e
    return parse_torch_zip(path) if head == _ZIP_MAGIC else parse_torch_legacy(path)


def torch_load(path: str | os.PathLike, device: Any = None) -> Any:
    """Load a torch.save checkpoint (zip or legacy format) without torch: the pickled tree, with Tensors on `device`
    (None: the default device) in place of torch tensors. Only whitelisted globals are resolved (see
    torch_zip.torch_globals); anything else, and any malformed file, raises FormatError."""
    return records_to_tensors(parse_torch_checkpoint(path).tree, device=device)
