"""Legacy (non-zip) torch.save checkpoints, written by torch itself, read without torch: the same values as the
objects torch saved, whichever dtype, view or container; state dicts load into baregrad.nn models."""
import collections
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_state_torch_zip import assert_same, sample_objects

import baregrad as bg
import baregrad.nn
from baregrad.nn.state import parse_torch_checkpoint, parse_torch_legacy, torch_load

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from zoo import mobilenet_v2  # noqa: E402 - the model zoo of bench/models.py, torchvision's names


def save_legacy(obj, path):
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    return path


def test_matches_the_saved_objects(tmp_path):
    """Every dtype torch writes a typed storage for, views with offsets and strides, expanded views, parameters,
    scalars, empty tensors, nested lists/tuples/dicts, plain values, two views of one storage."""
    objs = sample_objects()
    path = save_legacy(objs, tmp_path / "sample.pth")
    ckpt = parse_torch_legacy(path)
    assert_same(ckpt.tree, objs)
    assert ckpt.tree["param"].requires_grad and ckpt.tree["expanded"].stride == (0, 1)
    assert ckpt.tree["shared_a"].storage is ckpt.tree["shared_b"].storage  # one storage, as torch wrote it
    assert ckpt.tree["offset"].offset == 45  # base[2, 1:] of a (3, 4, 5) tensor starts 2 * 20 + 5 elements in
    assert_same(parse_torch_checkpoint(path).tree, objs)


def test_unsigned_dtypes_on_untyped_storages(tmp_path):
    """torch writes uint16/32/64 tensors on an UntypedStorage counted in bytes (and cannot read them back)."""
    objs = {name: torch.arange(7).mul(1000).to(getattr(torch, name))[1:] for name in ("uint16", "uint32", "uint64")}
    loaded = torch_load(save_legacy(objs, tmp_path / "unsigned.pth"))
    for name, ref in objs.items():
        assert loaded[name].dtype.name == name
        np.testing.assert_array_equal(loaded[name].numpy(), ref.to(torch.int64).numpy())


def test_ordered_dict_keeps_order_and_metadata(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    tree = parse_torch_legacy(save_legacy(model.state_dict(), tmp_path / "m.pth")).tree
    assert isinstance(tree, collections.OrderedDict) and tree._metadata == model.state_dict()._metadata
    assert_same(tree, model.state_dict())


def small_cnn(nn):
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 4, 3, groups=4, bias=False), nn.Flatten(), nn.Linear(4 * 2 * 2, 5))


def test_cnn_state_dict_loads_into_a_baregrad_model(tmp_path):
    torch.manual_seed(0)
    ref = small_cnn(torch.nn)
    ref.train()(torch.randn(4, 3, 8, 8))  # moves the BatchNorm running statistics off their defaults
    ref.eval()
    ours = small_cnn(bg.nn)
    result = ours.load_state_dict(bg.load(save_legacy(ref.state_dict(), tmp_path / "cnn.pth")))
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(bg.Tensor(x)).numpy(), ref(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_mobilenet_v2_state_dict_loads_equal(tmp_path):
    """torchvision's MobileNetV2 names and shapes (314 entries, 3.5M parameters), saved by torch in the legacy
    format as torchvision's published weights are."""
    torch.manual_seed(0)
    ref = mobilenet_v2(torch.nn).state_dict()
    ours = mobilenet_v2(bg.nn)
    result = ours.load_state_dict(bg.load(save_legacy(ref, tmp_path / "mobilenet_v2.pth")))
    assert not result.missing_keys and not result.unexpected_keys
    state = ours.state_dict()
    assert list(state) == list(ref)
    for name, value in ref.items():
        np.testing.assert_array_equal(state[name].numpy(), value.numpy(), err_msg=name)


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_bg_load_reads_both_formats(tmp_path, fmt):
    obj = {"w": torch.arange(6.0).reshape(2, 3), "step": 3}
    path = tmp_path / "ckpt.pth"
    torch.save(obj, path, _use_new_zipfile_serialization=fmt == "zip")
    loaded = bg.load(path)
    assert loaded["step"] == 3
    np.testing.assert_array_equal(loaded["w"].numpy(), obj["w"].numpy())
