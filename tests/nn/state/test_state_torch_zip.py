"""torch.save zip checkpoints read without torch: values equal torch.load's, hostile archives raise FormatError."""
import collections
import io
import os
import pickle
import zipfile

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from state_builders import installed_file, tensor_class

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.nn.state import TensorRecord, parse_torch_zip, torch_load

DTYPES = {torch.float32: dt.float32, torch.float16: dt.float16, torch.bfloat16: dt.bfloat16,
          torch.float64: dt.float64, torch.int64: dt.int64, torch.int32: dt.int32, torch.int8: dt.int8,
          torch.uint8: dt.uint8, torch.bool: dt.bool_, torch.int16: dt.int16}


def record_values(record: TensorRecord, like: torch.Tensor) -> torch.Tensor:
    if like.numel() == 0:
        return torch.empty(record.shape, dtype=like.dtype)
    return torch.frombuffer(bytearray(record.contiguous_bytes()), dtype=like.dtype).reshape(record.shape)


def assert_same(ours, ref):
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, TensorRecord) and ours.shape == tuple(ref.shape)
        assert ours.dtype is DTYPES[ref.dtype]
        assert torch.equal(record_values(ours, ref), ref.detach())
    elif isinstance(ref, dict):
        assert type(ours) is type(ref) and list(ours) == list(ref)
        for key in ref:
            assert_same(ours[key], ref[key])
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            assert_same(a, b)
    else:
        assert ours == ref


def sample_objects():
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    objs = {"transposed": base.transpose(0, 2), "sliced": base[1:, ::2, 1], "offset": base[2, 1:],
            "expanded": torch.arange(3.0).expand(4, 3), "param": torch.nn.Parameter(torch.ones(2)),
            "nested": [torch.tensor([1, 2]), (torch.tensor([True, False]),)], "scalar": torch.tensor(2.5),
            "empty": torch.zeros(0, 3), "plain": {"n": 5, "s": "x", "f": 1.5, "none": None}}
    for torch_dtype in DTYPES:
        objs[str(torch_dtype)] = (torch.arange(-3, 9) % 2 == 0 if torch_dtype is torch.bool
                                  else (torch.arange(12) - (0 if torch_dtype is torch.uint8 else 3)).to(torch_dtype))
    objs["shared_a"], objs["shared_b"] = base[0], base[1]  # two views of one storage
    return objs


def test_matches_torch_load(tmp_path):
    objs = sample_objects()
    path = tmp_path / "sample.pt"
    torch.save(objs, path)
    ckpt = parse_torch_zip(path)
    assert ckpt.byteorder == "little"
    assert_same(ckpt.tree, objs)
    assert ckpt.tree["param"].requires_grad and ckpt.tree["expanded"].stride == (0, 1)


def test_state_dict_keeps_ordered_dict_and_metadata(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    tree = parse_torch_zip(path).tree
    assert isinstance(tree, collections.OrderedDict) and tree._metadata == model.state_dict()._metadata
    assert_same(tree, model.state_dict())


def test_real_ccexam_checkpoint_matches_torch_load():
    path = installed_file("ccexam", "ccexam/weights/mnist.pth")
    ours = parse_torch_zip(path).tree
    ref = torch.load(path, map_location="cpu", weights_only=True)
    assert list(ours) == list(ref) and len(ref) == 8
    assert_same(ours, ref)


def test_torch_load_gives_tensors(tmp_path):
    Tensor = tensor_class()
    objs = sample_objects()
    path = tmp_path / "sample.pt"
    torch.save(objs, path)
    loaded = torch_load(path)
    for key in ("transposed", "sliced", "expanded", "torch.bfloat16", "torch.bool"):
        assert isinstance(loaded[key], Tensor) and tuple(loaded[key].shape) == tuple(objs[key].shape)
        ref = objs[key].contiguous()
        expected = (ref.view(torch.int16) if ref.dtype is torch.bfloat16 else ref).numpy().tobytes()
        assert loaded[key].to_bytes() == expected


def test_big_endian_storages_are_swapped(tmp_path):
    path = tmp_path / "le.pt"
    ref = torch.arange(6, dtype=torch.int32).reshape(2, 3).t()
    torch.save({"x": ref}, path)
    out = tmp_path / "be.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                data = b"".join(data[i:i + 4][::-1] for i in range(0, len(data), 4))
            dst.writestr(info.filename, data)
    assert torch.equal(record_values(parse_torch_zip(out).tree["x"], ref), ref)


def rewrite(path, out, change):
    """Copy a torch zip, letting change(name, data) return new bytes (or None to drop the entry)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.arange(12.0).reshape(3, 4), "b": torch.ones(4)}, path)
    return path


def test_hostile_pickle_in_checkpoint_never_runs(tmp_path, saved):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"w": Evil(marker)}, protocol=2)
    out = rewrite(saved, tmp_path / "evil.pt", lambda n, d: evil if n.endswith("data.pkl") else d)
    with pytest.raises(FormatError, match="posix.system|os.system"):
        parse_torch_zip(out)
    assert not marker.exists()


def test_torch_save_of_arbitrary_object_is_refused(tmp_path):
    path = tmp_path / "obj.pt"
    torch.save({"opt": torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1).state_dict(),
                "device": torch.device("cpu")}, path)
    with pytest.raises(FormatError, match="torch.device"):
        parse_torch_zip(path)


def corrupt_pickle(old: bytes, new: bytes):
    return lambda name, data: data.replace(old, new, 1) if name.endswith("data.pkl") else data


CORRUPTIONS = {
    "missing storage entry": lambda n, d: None if n.endswith("/data/0") else d,
    "short storage entry": lambda n, d: d[:8] if n.endswith("/data/0") else d,
    "missing data.pkl": lambda n, d: None if n.endswith("data.pkl") else d,
    "bad byteorder": lambda n, d: b"middle" if n.endswith("byteorder") else d,
    "unknown storage type": corrupt_pickle(b"FloatStorage", b"FloatStorag_"),
    "truncated pickle": lambda n, d: d[:len(d) // 2] if n.endswith("data.pkl") else d,
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corrupted_archives_raise_format_error(tmp_path, saved, name):
    out = rewrite(saved, tmp_path / "bad.pt", CORRUPTIONS[name])
    with pytest.raises(FormatError):
        parse_torch_zip(out)


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "view.pt"
    torch.save({"v": torch.arange(12.0)[2:]}, path)  # storage offset 2, size 10
    # Pretend the storage holds 4 elements: offset + extent no longer fits.
    out = rewrite(path, tmp_path / "bad.pt", lambda n, d: d[:16] if "/data/" in n else d)
    with pytest.raises(FormatError):
        parse_torch_zip(out)
    pkl = zipfile.ZipFile(path).read("view/data.pkl")
    smaller = pkl.replace(b"K\x0c", b"K\x04", 1)  # numel 12 -> 4 in the persistent id
    assert smaller != pkl
    out = rewrite(path, tmp_path / "bad2.pt", lambda n, d: smaller if n.endswith("data.pkl") else d)
    with pytest.raises(FormatError, match="storage"):
        parse_torch_zip(out)


def test_not_a_zip_and_legacy_format(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(FormatError):
        parse_torch_zip(bad)
    torch.save({"a": torch.ones(2)}, bad, _use_new_zipfile_serialization=False)
    with pytest.raises(FormatError):
        parse_torch_zip(bad)


def test_every_truncation_fails(tmp_path, saved):
    raw = saved.read_bytes()
    path = tmp_path / "cut.pt"
    for n in list(range(0, len(raw), max(1, len(raw) // 300))) + [len(raw) - 1]:
        path.write_bytes(raw[:n])
        with pytest.raises(FormatError):
            parse_torch_zip(path)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_corruption_parses_or_raises_format_error(tmp_path_factory, data):
    buf = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3).t(), "i": torch.tensor([1, 2])}, buf)
    raw = bytearray(buf.getvalue())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("fuzz") / "f.pt"
    path.write_bytes(bytes(raw))
    try:
        parse_torch_zip(path)
    except FormatError:
        pass
