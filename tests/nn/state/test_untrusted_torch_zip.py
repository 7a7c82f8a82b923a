"""Hostile torch.save zips: shared-reference bombs, BUILD on validated records, expanded views far larger than
their storage, corrupt compressed entries and duplicate entry names must raise FormatError quickly."""
import struct
import zipfile

import pytest
from state_builders import num, proto2, rebuild, storage, text, tup

from baregrad.errors import FormatError
from baregrad.nn.state import parse_torch_zip, torch_load
from baregrad.nn.state.torch_zip import MAX_EXPANDED_NUMEL


def shared_lists(levels: int, leaf: bytes) -> bytes:
    """`levels` memo entries, a few bytes each, that unfold into 2**levels leaves when walked as a tree."""
    body = leaf + b"r" + struct.pack("<I", 0) + b"0"
    for k in range(1, levels + 1):
        ref = b"j" + struct.pack("<I", k - 1)
        body += b"](" + ref + ref + b"e" + b"r" + struct.pack("<I", k) + b"0"
    return body + b"j" + struct.pack("<I", levels)


def checkpoint(path, pickle_bytes: bytes, data: bytes = bytes(16), compression: int = zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/data/0", data)
    return path


def test_shared_references_are_checked_and_converted_once(tmp_path):
    path = checkpoint(tmp_path / "dag.pth", proto2(shared_lists(60, rebuild(storage(), (2, 2), (2, 1)))))
    tree = torch_load(path)
    for _ in range(60):
        assert tree[0] is tree[1]
        tree = tree[0]
    assert tree.shape == (2, 2)


def test_error_message_of_a_shared_reference_bomb_is_short(tmp_path):
    pid = tup(text("storage"), shared_lists(40, text("x" * 1000)), text("0"), text("cpu"), num(4)) + b"Q"
    with pytest.raises(FormatError, match="malformed storage id") as info:
        parse_torch_zip(checkpoint(tmp_path / "repr.pth", proto2(pid)))
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("field, value", [("shape", tup(num(2 ** 20), num(2 ** 20))), ("numel", num(2 ** 40))])
def test_build_cannot_rewrite_a_validated_record(tmp_path, field, value):
    # A dict state would go straight into the frozen dataclass's __dict__, after the bounds checks.
    target = rebuild(storage(), (2, 2), (2, 1)) if field == "shape" else storage()
    body = target + b"}" + text(field) + value + b"sb"
    with pytest.raises(FormatError, match="BUILD on a (TensorRecord|StorageRecord) is not allowed"):
        parse_torch_zip(checkpoint(tmp_path / "build.pth", proto2(body)))


def test_expanded_view_far_larger_than_its_storage_is_refused(tmp_path):
    # One float with stride 0 and 2**31 elements: 8 GiB once materialized, from a file of a few hundred bytes.
    path = checkpoint(tmp_path / "expand.pth", proto2(rebuild(storage(1), (2 ** 31,), (0,))), bytes(4))
    with pytest.raises(FormatError, match=r"2147483648 elements .* 1-element storage"):
        parse_torch_zip(path)


def test_modest_expanded_view_still_loads(tmp_path):
    # torch.zeros(1).expand(n) is a legal checkpoint; small ones stay readable.
    n = min(1000, MAX_EXPANDED_NUMEL)
    path = checkpoint(tmp_path / "expand.pth", proto2(rebuild(storage(1), (n,), (0,))), bytes(4))
    assert torch_load(path).shape == (n,)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
def test_corrupt_compressed_pickle_is_a_format_error(tmp_path, compression):
    path = checkpoint(tmp_path / "bad.pth", proto2(rebuild(storage(), (2, 2), (2, 1))), compression=compression)
    raw = bytearray(path.read_bytes())
    start = 30 + len("archive/data.pkl")  # the first entry's data follows its local header
    for k in range(start + 4, start + 12):
        raw[k] ^= 0x5A
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="cannot read data.pkl"):
        parse_torch_zip(path)


def test_duplicate_entry_names_are_refused(tmp_path):
    path = tmp_path / "dup.pth"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", proto2(rebuild(storage(), (2, 2), (2, 1))))
        z.writestr("archive/data/0", bytes(16))
        z.writestr("archive/data/0", b"\1" * 16)
    with pytest.raises(FormatError, match="archive/data/0 appears twice"):
        parse_torch_zip(path)
