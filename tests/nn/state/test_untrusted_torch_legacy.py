"""Hostile legacy torch.save files, built from bytes: every malformed section, count, key list, view and global
is a FormatError, nothing outside the whitelist runs, and nothing hangs or allocates what the file does not hold."""
import pickle
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_builders import glob, num, proto2, rebuild, storage, text, tup

from baregrad.errors import FormatError
from baregrad.nn.state import parse_torch_checkpoint, parse_torch_legacy, torch_load
from baregrad.nn.state.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION

SYS_INFO = {"protocol_version": PROTOCOL_VERSION, "little_endian": True, "type_sizes": {"short": 2, "int": 4}}
VALUES = [1.5, -2.0, 3.25, 4.0, 0.5, 6.0]


def header(magic=MAGIC_NUMBER, version=PROTOCOL_VERSION, info=None) -> bytes:
    return b"".join(pickle.dumps(v, protocol=2) for v in (magic, version, SYS_INFO if info is None else info))


def legacy_file(tree: bytes, keys=("0",), counts=(6,), payloads=None, head: bytes | None = None) -> bytes:
    """header, the tree pickle, the key list, then per key its count and its float32 bytes."""
    payloads = payloads if payloads is not None else [struct.pack(f"<{n}f", *VALUES[:n]) for n in counts]
    data = b"".join(struct.pack("<q", n) + p for n, p in zip(counts, payloads))
    return (header() if head is None else head) + tree + pickle.dumps(list(keys), protocol=2) + data


def valid_tree(view: bytes = b"N", offset: int = 1) -> bytes:
    """{'w': a 2x2 tensor at `offset` of storage '0' (6 floats) or of its view, 'n': 7}"""
    w = rebuild(storage(6, view=view), (2, 2), (2, 1), offset)
    return proto2(b"}(" + text("w") + w + text("n") + num(7) + b"u")


def write(tmp_path, raw: bytes, name: str = "f.pth"):
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def test_the_builder_makes_a_file_that_loads(tmp_path):
    tree = torch_load(write(tmp_path, legacy_file(valid_tree())))
    assert tree["n"] == 7 and tree["w"].numpy().tolist() == [[-2.0, 3.25], [4.0, 0.5]]


def test_views_of_old_files_load(tmp_path):
    """PyTorch < 1.0 wrote views of a root storage: ('view key', offset, numel); the tensor's offset is in the view."""
    view = tup(text("1"), num(2), num(4))  # VALUES[2:6]
    tree = torch_load(write(tmp_path, legacy_file(valid_tree(view, offset=0))))
    assert tree["w"].numpy().tolist() == [[3.25, 4.0], [0.5, 6.0]]


def every_truncation(raw: bytes):
    return sorted(set(range(0, len(raw), 3)) | {len(raw) - 1})


def test_every_truncation_is_a_format_error(tmp_path):
    raw = legacy_file(valid_tree())
    path = tmp_path / "cut.pth"
    for n in every_truncation(raw):
        path.write_bytes(raw[:n])
        with pytest.raises(FormatError):
            parse_torch_checkpoint(path)


MALFORMED = {
    "empty file": b"",
    "not a pickle": b"hello, world",
    "wrong magic": legacy_file(valid_tree(), head=header(magic=MAGIC_NUMBER + 1)),
    "magic as a string": legacy_file(valid_tree(), head=header(magic=str(MAGIC_NUMBER))),
    "magic as a float": legacy_file(valid_tree(), head=header(magic=float(MAGIC_NUMBER))),
    "wrong protocol version": legacy_file(valid_tree(), head=header(version=1000)),
    "system info not a dict": legacy_file(valid_tree(), head=header(info=[1, 2])),
    "huge element count in the id": legacy_file(proto2(rebuild(storage(2 ** 60, view=b"N"), (2,), (1,))),
                                                counts=(2 ** 60,), payloads=[bytes(24)]),
    "id beyond 2**63 bytes": legacy_file(proto2(rebuild(storage(2 ** 62, view=b"N"), (2,), (1,)))),
    "huge element count in the data": legacy_file(valid_tree(), counts=(2 ** 62,), payloads=[bytes(24)]),
    "negative element count": legacy_file(valid_tree(), counts=(-1,), payloads=[bytes(24)]),
    "count differs from the id": legacy_file(valid_tree(), counts=(5,)),
    "short storage": legacy_file(valid_tree(), counts=(6,), payloads=[bytes(20)]),
    "trailing bytes": legacy_file(valid_tree()) + b"\0",
    "key missing from the list": legacy_file(valid_tree(), keys=(), counts=()),
    "unknown key in the list": legacy_file(valid_tree(), keys=("0", "9"), counts=(6, 6)),
    "duplicate key": legacy_file(valid_tree(), keys=("0", "0"), counts=(6, 6)),
    "key list not a list": legacy_file(valid_tree()).replace(pickle.dumps(["0"], protocol=2),
                                                             pickle.dumps(("0",), protocol=2)),
    "key list of ints": legacy_file(valid_tree()).replace(pickle.dumps(["0"], protocol=2),
                                                          pickle.dumps([0], protocol=2)),
    "zip-style five-field id": legacy_file(proto2(rebuild(storage(6), (2,), (1,)))),
    "view not a triple": legacy_file(valid_tree(tup(text("1"), num(2))),),
    "view beyond its root": legacy_file(valid_tree(tup(text("1"), num(4), num(4)))),
    "view key is a root key": legacy_file(valid_tree(tup(text("0"), num(0), num(6)))),
    "storage offset beyond size": legacy_file(proto2(rebuild(storage(6, view=b"N"), (2,), (1,), 5))),
    "negative storage offset": legacy_file(proto2(rebuild(storage(6, view=b"N"), (2,), (1,), -1))),
    "same key, two sizes": legacy_file(proto2(tup(rebuild(storage(6, view=b"N"), (2,), (1,)),
                                                  rebuild(storage(5, view=b"N"), (2,), (1,))))),
    "unknown storage type": legacy_file(proto2(rebuild(storage(6, view=b"N", kind="FloatStorag_"), (2,), (1,)))),
    "pickle without STOP": header() + b"\x80\x02" + text("x") * 3,
    "string longer than the file": header() + b"\x80\x02X" + struct.pack("<I", 2 ** 31) + b"abc",
    "bytes longer than the file": header() + b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 62) + b"abc",
    "persistent id in the header": proto2(tup(text("storage")) + b"Q") + header()[15:],
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_files_are_format_errors(tmp_path, name):
    with pytest.raises(FormatError):
        parse_torch_checkpoint(write(tmp_path, MALFORMED[name]))


def system_via(kind: str, marker) -> bytes:
    """os.system('touch marker') as a REDUCE of a GLOBAL (protocol 2) or of a STACK_GLOBAL (protocol 4)."""
    command = text(f"touch {marker}")
    if kind == "GLOBAL":
        return b"\x80\x02" + glob("os", "system") + tup(command) + b"R."
    return b"\x80\x04\x8c\x02os\x8c\x06system\x93" + tup(command) + b"R."


@pytest.mark.parametrize("kind", ["GLOBAL", "STACK_GLOBAL"])
@pytest.mark.parametrize("section", ["magic", "version", "info", "tree", "keys"])
def test_globals_outside_the_whitelist_never_run(tmp_path, kind, section):
    marker = tmp_path / "pwned"
    evil = system_via(kind, marker)
    parts = [pickle.dumps(v, protocol=2) for v in (MAGIC_NUMBER, PROTOCOL_VERSION, SYS_INFO)]
    parts += [valid_tree(), pickle.dumps(["0"], protocol=2)]
    parts[["magic", "version", "info", "tree", "keys"].index(section)] = evil
    raw = b"".join(parts) + struct.pack("<q", 6) + struct.pack("<6f", *VALUES)
    with pytest.raises(FormatError, match="os.system|posix.system|not a torch.save|magic"):
        parse_torch_legacy(write(tmp_path, raw))
    assert not marker.exists()


def test_a_whitelisted_global_in_a_header_pickle_is_refused(tmp_path):
    """The header pickles are plain data: not even the tree's whitelist applies to them."""
    info = b"\x80\x02" + glob("collections", "OrderedDict") + b")R."
    raw = pickle.dumps(MAGIC_NUMBER, protocol=2) + pickle.dumps(PROTOCOL_VERSION, protocol=2) + info
    with pytest.raises(FormatError, match="collections.OrderedDict is not in the whitelist"):
        parse_torch_legacy(write(tmp_path, raw + valid_tree() + pickle.dumps(["0"], protocol=2)))


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_random_corruption_parses_or_raises_format_error(tmp_path_factory, data):
    raw = bytearray(legacy_file(valid_tree(tup(text("1"), num(1), num(5)))))
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("fuzz") / "f.pth"
    path.write_bytes(bytes(raw))
    try:
        parse_torch_legacy(path)
    except FormatError:
        pass
