"""Hostile ONNX files, built byte by byte: every one must raise FormatError (naming the field and offset), never
another exception, a hang or a huge allocation. Also a seeded fuzz of a valid model's bytes."""
from __future__ import annotations

import os
import random
import signal
import struct
from contextlib import contextmanager

import pytest

import baregrad as bg
from baregrad.errors import FormatError
from baregrad.onnx.model import parse_model, read_model


# ---- a tiny protobuf encoder (the tests must not depend on the reader they test) ----
def varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def ld(field: int, payload: bytes) -> bytes:
    return key(field, 2) + varint(len(payload)) + payload


def vi(field: int, value: int) -> bytes:
    return key(field, 0) + varint(value)


def s(field: int, text: str) -> bytes:
    return ld(field, text.encode())


def tensor(name: str, dims: list[int], data_type: int = 1, raw: bytes | None = None, extra: bytes = b"") -> bytes:
    out = b"".join(vi(1, d) for d in dims) + vi(2, data_type) + s(8, name)
    if raw is not None:
        out += ld(9, raw)
    return out + extra


def value_info(name: str, dims: list[int] = (1,)) -> bytes:
    shape = b"".join(ld(1, vi(1, d)) for d in dims)
    return s(1, name) + ld(2, ld(1, vi(1, 1) + ld(2, shape)))


def node(op: str, inputs: list[str], outputs: list[str], attrs: bytes = b"") -> bytes:
    return b"".join(s(1, i) for i in inputs) + b"".join(s(2, o) for o in outputs) + s(4, op) + attrs


def graph(nodes: list[bytes] = (), inits: list[bytes] = (), inputs=("x",), outputs=("y",), extra=b"") -> bytes:
    return (b"".join(ld(1, n) for n in nodes) + s(2, "g") + b"".join(ld(5, t) for t in inits)
            + b"".join(ld(11, value_info(i)) for i in inputs) + b"".join(ld(12, value_info(o)) for o in outputs)
            + extra)


def model(g: bytes) -> bytes:
    return vi(1, 8) + ld(8, s(1, "") + vi(2, 17)) + ld(7, g)


VALID = model(graph([node("Identity", ["x"], ["y"])]))


@contextmanager
def deadline(seconds: float = 5.0):
    """Fail instead of hanging: a SIGALRM after `seconds`."""
    def boom(*_):
        raise TimeoutError(f"parsing took over {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def nested_if_bomb(depth: int) -> bytes:
    """If nodes whose then_branch holds another If, `depth` deep (built iteratively)."""
    inner = graph([node("Identity", ["x"], ["y"])], inputs=(), outputs=("y",))
    for _ in range(depth):
        attr = s(1, "then_branch") + vi(20, 5) + ld(6, inner)
        inner = graph([node("If", ["c"], ["y"], ld(5, attr))], inputs=(), outputs=("y",))
    return model(inner)


def type_bomb(depth: int) -> bytes:
    t = ld(1, vi(1, 1))
    for _ in range(depth):
        t = ld(4, ld(1, t))
    return model(graph([node("Identity", ["x"], ["y"])], extra=ld(11, s(1, "z") + ld(2, t))))


def const_node(attr: bytes) -> bytes:
    return model(graph([node("Constant", [], ["y"], ld(5, attr))], inputs=()))


# name -> bytes of a hostile file (parsed with parse_model, no folder)
CASES: dict[str, bytes] = {
    "empty file": b"",
    "not protobuf (text)": b"hello, this is not an onnx model\n",
    "truncated key varint": b"\x80",
    "varint over 10 bytes": vi(1, 8)[:1] + b"\xff" * 11 + b"\x01",
    "truncated graph payload": vi(1, 8) + key(7, 2) + varint(100) + b"abc",
    "length 2^62": vi(1, 8) + key(7, 2) + varint(1 << 62) + b"abc",
    "length just past the end": VALID[:-1],
    "truncated in the middle": VALID[:len(VALID) // 2],
    "group wire type": vi(1, 8) + key(7, 3) + b"\x00",
    "invalid wire type 7": vi(1, 8) + key(7, 7) + b"\x00",
    "field number zero": b"\x02\x00" + VALID,
    "graph sent as a varint": vi(1, 8) + vi(7, 5),
    "fixed64 truncated": vi(1, 8) + key(9, 1) + b"\x01\x02",
    "fixed32 attribute truncated": const_node(s(1, "value_float") + key(2, 5) + b"\x00\x00"),
    "recursion bomb: 200 nested If graphs": nested_if_bomb(200),
    "recursion bomb: 5000 nested If graphs": nested_if_bomb(5000),
    "type bomb: 5000 nested sequence types": type_bomb(5000),
    "negative dim in initializer": model(graph([node("Identity", ["w"], ["y"])],
                                               [tensor("w", [-2], raw=b"")], inputs=())),
    "raw_data shorter than the dims": model(graph([node("Identity", ["w"], ["y"])],
                                                  [tensor("w", [4], raw=b"\x00" * 12)], inputs=())),
    "raw_data longer than the dims": model(graph([node("Identity", ["w"], ["y"])],
                                                 [tensor("w", [2], raw=b"\x00" * 12)], inputs=())),
    "dims 2^40 x 2^40 with 16 bytes": model(graph([node("Identity", ["w"], ["y"])],
                                                  [tensor("w", [1 << 40, 1 << 40], raw=b"\x00" * 16)], inputs=())),
    "float_data count does not match dims": model(graph(
        [node("Identity", ["w"], ["y"])], [tensor("w", [3], extra=ld(4, struct.pack("<2f", 1, 2)))], inputs=())),
    "int64_data count does not match dims": model(graph(
        [node("Identity", ["w"], ["y"])], [tensor("w", [3], 7, extra=ld(7, varint(1) + varint(2)))], inputs=())),
    "dims but no data at all": model(graph([node("Identity", ["w"], ["y"])], [tensor("w", [1000])], inputs=())),
    "packed float_data not a multiple of 4": model(graph(
        [node("Identity", ["w"], ["y"])], [tensor("w", [1], extra=ld(4, b"\x00" * 5))], inputs=())),
    "truncated varint in packed dims": model(graph(
        [node("Identity", ["w"], ["y"])], [ld(1, b"\x80\x80") + vi(2, 1) + s(8, "w")], inputs=())),
    "unknown data_type 99": model(graph([node("Identity", ["w"], ["y"])], [tensor("w", [1], 99, raw=b"\x00")],
                                        inputs=())),
    "string tensor count does not match": model(graph(
        [node("Identity", ["w"], ["y"])], [tensor("w", [3], 8, extra=ld(6, b"a"))], inputs=())),
    "op_type not utf-8": model(graph([ld(1, b"x") + ld(2, b"y") + ld(4, b"\xff\xfe")])),
    "node without op_type": model(graph([s(1, "x") + s(2, "y")])),
    "attribute without a name": model(graph([node("Identity", ["x"], ["y"], ld(5, vi(20, 2) + vi(3, 1)))])),
    "attribute type FLOAT without the field": const_node(s(1, "value_float") + vi(20, 1)),
    "attribute string not utf-8": const_node(s(1, "value_string") + vi(20, 3) + ld(4, b"\xc3\x28")),
    "graph output produced by no node": model(graph([node("Identity", ["x"], ["z"])])),
    "node reads a value nothing defines": model(graph([node("Identity", ["nowhere"], ["y"])])),
    "cycle between two nodes": model(graph([node("Identity", ["b"], ["a"]), node("Identity", ["a"], ["b"]),
                                            node("Identity", ["b"], ["y"])], inputs=())),
    "opset version sent as bytes": vi(1, 8) + ld(8, ld(2, b"17")) + ld(7, graph([node("Identity", ["x"], ["y"])])),
    "sparse values not 1-d": model(graph([node("Identity", ["w"], ["y"])], inputs=(), extra=ld(15, ld(
        1, tensor("w", [1, 1], raw=b"\x00" * 4)) + ld(2, tensor("i", [1], 7, raw=b"\x00" * 8)) + vi(3, 4)))),
    "external data but read from bytes": model(graph([node("Identity", ["w"], ["y"])], [tensor(
        "w", [1], extra=ld(13, s(1, "location") + s(2, "w.bin")) + vi(14, 1))], inputs=())),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_bytes_raise_format_error(name: str) -> None:
    with deadline(), pytest.raises(FormatError):
        bg.onnx.load(CASES[name], device="PYTHON")


def _external(location: str, offset: int | None = None, length: int | None = None) -> bytes:
    entries = ld(13, s(1, "location") + s(2, location))
    if offset is not None:
        entries += ld(13, s(1, "offset") + s(2, str(offset)))
    if length is not None:
        entries += ld(13, s(1, "length") + s(2, str(length)))
    return model(graph([node("Identity", ["w"], ["y"])], [tensor("w", [2], extra=entries + vi(14, 1))], inputs=()))


EXTERNAL = {
    "path traversal ../": ("../secret.bin", None, None),
    "absolute path": ("/etc/passwd", None, None),
    "missing file": ("nowhere.bin", None, None),
    "offset past the end": ("w.bin", 100, None),
    "length past the end": ("w.bin", 4, 8),
    "negative offset": ("w.bin", -4, None),
    "symlink out of the folder": ("link.bin", None, None),
    "the folder itself": (".", None, None),
    "element count does not match the length": ("w.bin", 0, 4),
}


@pytest.mark.parametrize("name", list(EXTERNAL))
def test_hostile_external_data(tmp_path, name: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\x00" * 8)
    (folder / "w.bin").write_bytes(b"\x00" * 8)
    os.symlink(tmp_path / "secret.bin", folder / "link.bin")
    (folder / "m.onnx").write_bytes(_external(*EXTERNAL[name]))
    with deadline(), pytest.raises(FormatError):
        read_model(folder / "m.onnx")


def test_external_data_inside_the_folder_loads(tmp_path) -> None:
    """The positive twin of the cases above: a valid external file next to the model is read."""
    (tmp_path / "w.bin").write_bytes(b"\xff" * 4 + struct.pack("<2f", 1.5, -2.0))
    (tmp_path / "m.onnx").write_bytes(_external("w.bin", 4, 8))
    weights = read_model(tmp_path / "m.onnx").graph.initializers["w"]
    assert weights.to_tensor("PYTHON").tolist() == [1.5, -2.0]


def test_error_names_the_offset() -> None:
    with pytest.raises(FormatError, match=r"byte \d+"):
        parse_model(CASES["length 2^62"])


def test_fuzzed_mutations_raise_only_format_error() -> None:
    """Seeded truncations, byte flips and insertions of a valid model: parse or FormatError, nothing else."""
    rng = random.Random(1234)
    base = model(graph([node("Identity", ["x"], ["t"]), node("Identity", ["t"], ["y"],
                                                             ld(5, s(1, "a") + vi(20, 7) + ld(8, varint(3))))],
                       [tensor("w", [2], raw=b"\x00" * 8)]))
    with deadline(20):
        for _ in range(400):
            data = bytearray(base)
            kind = rng.randrange(3)
            pos = rng.randrange(len(data))
            if kind == 0:
                data = data[:pos]
            elif kind == 1:
                data[pos] = rng.randrange(256)
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
            try:
                parse_model(bytes(data))
            except FormatError:
                pass
