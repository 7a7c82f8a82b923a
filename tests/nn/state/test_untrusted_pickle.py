"""Hostile NumPy pickles: shared-reference bombs, absurd memo indices, stand-in abuse and BUILD on our records
must raise FormatError quickly, without hanging or allocating far more than the pickle holds."""
import struct

import pytest

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.nn.state import NpArray, load_numpy_pickle, safe_unpickle
from baregrad.nn.state.safe_pickle import Marker


# A tiny protocol-2 assembler: each helper returns the opcodes that push one value.
def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(s: str) -> bytes:
    return b"X" + struct.pack("<I", len(s.encode())) + s.encode()


def raw(b: bytes) -> bytes:
    return b"C" + bytes([len(b)]) + b


def num(n: int) -> bytes:
    return b"\x8a\x09" + n.to_bytes(9, "little", signed=True)


def tup(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def call(fn: bytes, *args: bytes) -> bytes:
    return fn + tup(*args) + b"R"


def proto2(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def shared_lists(levels: int, leaf: bytes) -> bytes:
    """A list of two references to a list of two references to ... `leaf`: `levels` memo entries, a few bytes
    each, that unfold into 2**levels leaves when walked as a tree."""
    body = leaf + b"r" + struct.pack("<I", 0) + b"0"
    for k in range(1, levels + 1):
        ref = b"j" + struct.pack("<I", k - 1)
        body += b"](" + ref + ref + b"e" + b"r" + struct.pack("<I", k) + b"0"
    return body + b"j" + struct.pack("<I", levels)


def np_dtype(code: str = "u1") -> bytes:
    return call(glob("numpy", "dtype"), text(code), b"\x89", b"\x88")


def frombuffer(buf: bytes, shape: tuple[int, ...]) -> bytes:
    return call(glob("numpy.core.numeric", "_frombuffer"), buf, np_dtype(), tup(*map(num, shape)), text("C"))


def test_shared_references_are_walked_once():
    # 60 levels is 2**60 leaves as a tree; the loader must visit each distinct container once.
    tree = load_numpy_pickle(proto2(shared_lists(60, frombuffer(raw(b"ab"), (2,)))))
    for _ in range(60):
        assert tree[0] is tree[1]
        tree = tree[0]
    assert tree == NpArray(dt.uint8, (2,), b"ab")


def test_error_message_of_a_shared_reference_bomb_is_short():
    # The bad dtype state holds 2**40 references to a 1000-byte string; a full repr of it never finishes.
    state = tup(shared_lists(40, text("x" * 1000)))
    with pytest.raises(FormatError, match="numpy dtype state") as info:
        load_numpy_pickle(proto2(np_dtype() + state + b"b"))
    assert len(str(info.value)) < 1000


def test_frombuffer_of_an_int_does_not_allocate_it():
    # bytes(2**40) would allocate a terabyte of zeros before any size check.
    with pytest.raises(FormatError, match="_frombuffer.*int"):
        load_numpy_pickle(proto2(frombuffer(num(2 ** 40), (4,))))


def test_build_cannot_rewrite_a_validated_array():
    # BUILD with a dict state would write straight into the instance's __dict__, past the frozen dataclass.
    body = frombuffer(raw(b"abcd"), (4,)) + b"}" + text("shape") + tup(num(2 ** 30), num(2 ** 30)) + b"sb"
    with pytest.raises(FormatError, match="BUILD on a NpArray is not allowed"):
        load_numpy_pickle(proto2(body))


def test_build_cannot_rewrite_a_callers_stand_in():
    # The frozen slotted dataclass's own __setstate__ would set every field from a tuple state, and the caller's
    # mapping would keep the rewritten stand-in for every later load.
    marker = Marker("numpy.ndarray")
    with pytest.raises(FormatError, match="BUILD on a Marker is not allowed"):
        safe_unpickle(proto2(glob("a", "b") + tup(text("os.system"), num(1)) + b"b"), {("a", "b"): marker})
    assert marker == Marker("numpy.ndarray")


@pytest.mark.parametrize("put", [b"r\xff\xff\xff\x7f", b"p4294967295\n"], ids=["LONG_BINPUT", "PUT"])
def test_absurd_memo_index_is_refused_before_unpickling(put):
    # CPython's unpickler grows its memo array to twice the index and zero-fills it: 2**31 -> 32 GiB.
    with pytest.raises(FormatError, match=r"memo index \d+ .*at byte 3"):
        safe_unpickle(proto2(b"]" + put), set())


def test_errors_from_stand_ins_name_the_byte_offset():
    with pytest.raises(FormatError, match=r"at byte \d+: numpy dtype 'c16' is not supported"):
        load_numpy_pickle(proto2(np_dtype("c16")))
