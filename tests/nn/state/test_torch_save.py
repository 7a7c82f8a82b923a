"""baregrad.save writes torch.save zip checkpoints: torch.load(weights_only=True) and baregrad.load read them back
equal, torch.save files load equal, optimizer state resumes training exactly, and bad input never touches the file."""
import collections
import os
import pickletools
import zipfile

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.optim as optim
from baregrad.errors import ArgumentError
from baregrad.nn.state import save_torch_zip, torch_save
from tests.helpers import raises_baregrad

DEVICE = "CPU"
TORCH_DTYPES = [torch.float32, torch.float16, torch.float64, torch.bfloat16, torch.int8, torch.int16, torch.int32,
                torch.int64, torch.uint8, torch.bool, torch.uint16, torch.uint32, torch.uint64]
ALLOWED_GLOBALS = {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_tensor_v3",
                   "torch.storage UntypedStorage", "torch uint16", "torch uint32", "torch uint64",
                   *(f"torch {name}" for name in ("FloatStorage", "HalfStorage", "DoubleStorage", "BFloat16Storage",
                                                  "CharStorage", "ShortStorage", "IntStorage", "LongStorage",
                                                  "ByteStorage", "BoolStorage"))}


def torch_bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def random_torch(dtype: torch.dtype, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if dtype.is_floating_point:
        return torch.randn(shape, generator=g).to(dtype)
    if dtype is torch.bool:
        return torch.randn(shape, generator=g) > 0
    low = -100 if dtype.is_signed else 0
    return torch.randint(low, 100, shape, generator=g).to(dtype)


def to_baregrad(t: torch.Tensor, device: str = DEVICE) -> bg.Tensor:
    return bg.Tensor.from_bytes(torch_bytes(t), str(t.dtype).removeprefix("torch."), tuple(t.shape), device)


def assert_same(ours, ref, where="checkpoint"):
    """ours (a baregrad tree) equals ref (a torch tree): containers and their types, tensor dtypes, shapes, bytes."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, bg.Tensor), where
        assert (ours.dtype.name, ours.shape) == (str(ref.dtype).removeprefix("torch."), tuple(ref.shape)), where
        assert ours.to_bytes() == torch_bytes(ref), where
    elif isinstance(ref, dict):
        assert type(ours) is type(ref) and [(type(k), k) for k in ours] == [(type(k), k) for k in ref], where
        for key in ref:
            assert_same(ours[key], ref[key], f"{where}[{key!r}]")
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref), where
        for i, (a, b) in enumerate(zip(ours, ref)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(ref) and ours == ref, where


def saved_globals(path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        data = z.read("archive/data.pkl")
    return {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}


def test_state_dict_round_trips_through_torch_load(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, device=DEVICE), nn.ReLU(), nn.Linear(4, 2, device=DEVICE))
    sd = model.state_dict()
    bg.save(sd, tmp_path / "model.pt")
    ref = torch.load(tmp_path / "model.pt", weights_only=True)
    assert isinstance(ref, collections.OrderedDict) and list(ref) == list(sd)
    assert_same(sd, ref)
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    torch_model.load_state_dict(ref)  # torch accepts it as a state_dict
    assert saved_globals(tmp_path / "model.pt") <= ALLOWED_GLOBALS


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_every_dtype_round_trips(tmp_path, dtype):
    ref = {"t": random_torch(dtype, (2, 3)), "scalar": random_torch(dtype, ()), "empty": random_torch(dtype, (0, 3))}
    path = tmp_path / "t.pt"
    bg.save({k: to_baregrad(v) for k, v in ref.items()}, path)
    back = torch.load(path, weights_only=True)
    for k in ref:
        assert back[k].dtype is dtype and torch.equal(back[k], ref[k]), k
    assert_same(bg.load(path), ref)


def test_extreme_unsigned_values(tmp_path):
    ref = {"u64": torch.tensor([0, 2 ** 64 - 1, 2 ** 63], dtype=torch.uint64),
           "u32": torch.tensor([2 ** 32 - 1], dtype=torch.uint32), "u16": torch.tensor([65535], dtype=torch.uint16)}
    bg.save({k: to_baregrad(v) for k, v in ref.items()}, tmp_path / "u.pt")
    back = torch.load(tmp_path / "u.pt", weights_only=True)
    assert all(torch.equal(back[k], ref[k]) for k in ref)
    assert bg.load(tmp_path / "u.pt")["u64"].tolist() == [0, 2 ** 64 - 1, 2 ** 63]


def test_nested_checkpoint_round_trips(tmp_path):
    model = nn.Linear(3, 2, device=DEVICE)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(bg.Tensor(np.ones((2, 3), np.float32), device=DEVICE)).sum().backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 7, "best": 0.25, "name": "run-ä",
            "history": [1.5, -2.0, float("inf")], "shape": (3, (4, 5)), "flags": {True: None, 2: [], (1, "a"): ()},
            "big": 2 ** 70, "neg": -(2 ** 40), "ints": [0, 255, 256, 65535, 65536, -1, 2 ** 31, -(2 ** 31) - 1],
            "lazy": model.weight.T * 2}  # an unrealized tensor: saving realizes it
    path = tmp_path / "ckpt.pt"
    bg.save(ckpt, path)
    ref = torch.load(path, weights_only=True)
    assert_same(ckpt, ref)
    assert_same(bg.load(path), ref)


def test_same_tensor_shares_one_storage(tmp_path):
    w = bg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=DEVICE)
    path = tmp_path / "tied.pt"
    bg.save({"a": w, "b": w, "c": w.detach(), "d": bg.Tensor(np.zeros(2, np.float32), device=DEVICE)}, path)
    with zipfile.ZipFile(path) as z:
        assert sorted(n for n in z.namelist() if "/data/" in n) == ["archive/data/0", "archive/data/1"]
    ref = torch.load(path, weights_only=True)
    assert ref["a"] is ref["b"]
    assert ref["a"].untyped_storage().data_ptr() == ref["c"].untyped_storage().data_ptr()
    ours = bg.load(path)
    assert ours["a"] is ours["b"]


def test_archive_layout(tmp_path):
    path = tmp_path / "x.pt"
    bg.save({"w": bg.Tensor(np.ones(5, np.float32), device=DEVICE), "i": bg.Tensor([1, 2], dtype=bg.uint16)}, path)
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        assert z.read("archive/byteorder") == b"little" and z.read("archive/version") == b"3\n"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
        data = z.read("archive/data.pkl")
    assert data[:2] == b"\x80\x02"
    raw = path.read_bytes()
    for name in ("archive/data/0", "archive/data/1"):
        info = infos[name]
        start = info.header_offset + 30 + len(name) + int.from_bytes(raw[info.header_offset + 28:][:2], "little")
        assert start % 64 == 0 and raw[start:start + info.file_size] == zipfile.ZipFile(path).read(name)
    assert torch.load(path, weights_only=True, mmap=True)["w"].tolist() == [1.0] * 5


def test_torch_saved_checkpoints_load_equal(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    objs = {"model": model.state_dict(), "opt": opt.state_dict(),
            "ckpt": {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3, "loss": 0.5, "tag": "a",
                     "sizes": [(1, 2), [3.5]], "u16": torch.arange(4).to(torch.uint16)}}
    for name, obj in objs.items():
        torch.save(obj, tmp_path / f"{name}.pt")
        loaded = bg.load(tmp_path / f"{name}.pt")
        assert_same(loaded, obj, name)
    assert bg.load(tmp_path / "model.pt")._metadata == model.state_dict()._metadata


def test_torch_state_dict_keeps_its_metadata_through_load_and_save(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    torch.save(model.state_dict(), tmp_path / "torch.pt")
    bg.save(bg.load(tmp_path / "torch.pt"), tmp_path / "ours.pt")
    back = torch.load(tmp_path / "ours.pt", weights_only=True)
    assert back._metadata == model.state_dict()._metadata and back["1.num_batches_tracked"].dtype is torch.int64
    assert_same(bg.load(tmp_path / "ours.pt"), model.state_dict())
    model.load_state_dict(back)


@pytest.mark.parametrize("old, new, message", [(b"K\x06t", b"K\x05t", "5 bytes are not whole uint16 elements"),
                                                (b"torch\nuint16", b"torch\nFloatStorage", "not a torch dtype")])
def test_malformed_untyped_storage_tensors_are_refused(tmp_path, old, new, message):
    torch.save({"x": torch.tensor([1, 2, 3], dtype=torch.uint16)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as src, zipfile.ZipFile(tmp_path / "bad.pt", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data.replace(old, new, 1) if info.filename.endswith("data.pkl") else data)
    raises_baregrad(bg.FormatError, ValueError, message, lambda: bg.load(tmp_path / "bad.pt"))


def train_steps(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = bg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), device=DEVICE)
        opt.zero_grad()
        ((model(x) - 1.0) ** 2).mean().backward()
        opt.step()


def fresh(kind):
    bg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5, device=DEVICE), nn.Tanh(), nn.Linear(5, 1, device=DEVICE))
    opts = {"sgd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
            "adam": lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.95), amsgrad=True)}
    return model, opts[kind](model.parameters())


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizer_checkpoint_resumes_training_exactly(tmp_path, kind):
    model, opt = fresh(kind)
    train_steps(model, opt, 3, seed=1)
    bg.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    train_steps(model, opt, 3, seed=2)  # the uninterrupted run

    resumed, resumed_opt = fresh(kind)
    ckpt = bg.load(tmp_path / "ckpt.pt", device=DEVICE)
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["opt"])
    assert ckpt["epoch"] == 3 and isinstance(ckpt["opt"]["param_groups"][0]["params"], list)
    train_steps(resumed, resumed_opt, 3, seed=2)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        assert a.to_bytes() == b.to_bytes(), name


def test_device_tensors_round_trip(tmp_path, device):
    ref = random_torch(torch.float32, (3, 2), seed=3)
    t = to_baregrad(ref, device)
    path = tmp_path / "dev.pt"
    bg.save({"t": t, "view": t.T}, path)  # the view is lazy: saving realizes it
    back = torch.load(path, weights_only=True)
    assert torch.equal(back["t"], ref) and torch.equal(back["view"], ref.T)
    ours = bg.load(path, device=device)
    assert ours["t"].device == t.device and ours["view"].to_bytes() == torch_bytes(ref.T)


class Thing:
    pass


@pytest.mark.parametrize("obj, message", [
    ({"opt": {"state": {0: {"momentum": Thing()}}}},
     r"^checkpoint\['opt'\]\['state'\]\[0\]\['momentum'\]: cannot save a test_torch_save.Thing;"),
    ([1, (2, torch.ones(1))], r"^checkpoint\[1\]\[1\]: cannot save a torch.Tensor"),
    ({"s": {1, 2}}, r"^checkpoint\['s'\]: cannot save a set"),
    ({"x": np.float64(1.0)}, r"^checkpoint\['x'\]: cannot save a numpy.float64"),
    ({"d": collections.defaultdict(list)}, r"^checkpoint\['d'\]: cannot save a collections.defaultdict"),
    ({"b": b"raw"}, r"^checkpoint\['b'\]: cannot save a bytes"),
    ({frozenset(): 1}, r"^checkpoint: cannot save a frozenset as a dict key"),
    ({(1, Thing()): 1}, r"^checkpoint: cannot save a tuple as a dict key"),
    ({"f": len}, r"^checkpoint\['f'\]: cannot save a builtin_function_or_method"),
])
def test_unsavable_values_name_their_key_path(tmp_path, obj, message):
    raises_baregrad(ArgumentError, ValueError, message, lambda: bg.save(obj, tmp_path / "bad.pt"))
    assert not os.listdir(tmp_path)  # refused before any file is created


def test_cycles_and_deep_nesting_are_refused(tmp_path):
    loop: list = [1]
    loop.append({"again": loop})
    raises_baregrad(ArgumentError, ValueError, r"checkpoint\[1\]\['again'\]: the list contains itself",
                    lambda: bg.save(loop, tmp_path / "c.pt"))
    deep: list = []
    for _ in range(150):
        deep = [deep]
    raises_baregrad(ArgumentError, ValueError, "nested more than 100 deep", lambda: bg.save(deep, tmp_path / "d.pt"))
    shared = [1, 2]
    bg.save({"a": shared, "b": (shared, shared)}, tmp_path / "shared.pt")  # shared, but not a cycle: fine
    back = bg.load(tmp_path / "shared.pt")
    assert back["a"] == [1, 2] and back["b"][0] is back["a"] is back["b"][1]


def test_failed_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    bg.save({"w": bg.Tensor(np.ones(3, np.float32), device=DEVICE), "epoch": 1}, path)
    before = path.read_bytes()
    raises_baregrad(ArgumentError, ValueError, "cannot save a object",
                    lambda: bg.save({"w": bg.Tensor([2.0]), "bad": object()}, path))
    assert path.read_bytes() == before

    def disk_full(storage):  # fails while the archive is half written
        if storage.key == "1":
            raise OSError("No space left on device")
        return storage.tensor.to_bytes()
    monkeypatch.setattr(torch_save._Storage, "payload", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_torch_zip({"a": bg.Tensor([1.0, 2.0]), "b": bg.Tensor([3.0]), "epoch": 2}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.pt"]
    assert bg.load(path)["epoch"] == 1


def test_save_writes_through_a_symlink(tmp_path):
    target = tmp_path / "run1.pt"
    bg.save({"epoch": 1}, target)
    link = tmp_path / "latest.pt"
    link.symlink_to(target)
    bg.save({"epoch": 2}, link)
    assert link.is_symlink() and torch.load(target, weights_only=True) == {"epoch": 2}
