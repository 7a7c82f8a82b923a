"""torch.nn parity for the 1-d layers built on the 2-d ones (MaxPool1d, AvgPool1d, ConvTranspose1d and their
functional forms, forward and backward), Module.get_submodule/get_parameter/get_buffer, Sequential and
ModuleList editing (__setitem__, __delitem__, insert, extend, pop), and state_dict(keep_vars=, destination=)."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
import baregrad.optim as optim
from tests.helpers import check, check_module, compare

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_pair(ours, theirs, x, device, **call):
    check_module(ours, theirs, x, device, RNG, **call)


@pytest.mark.parametrize("kw,shape", [({"kernel_size": 3}, (2, 3, 9)),
                                      ({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 10)),
                                      ({"kernel_size": 2, "stride": 1, "dilation": 2}, (1, 2, 7)),
                                      ({"kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 2, 8)),
                                      ({"kernel_size": (3,), "stride": (2,), "padding": (1,)}, (3, 7))])
def test_max_pool1d(device, kw, shape):
    run_pair(nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw), randn(*shape), device)


@pytest.mark.parametrize("kw,shape", [({"kernel_size": 3}, (2, 3, 9)),
                                      ({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 10)),
                                      ({"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                                       (1, 2, 8)),
                                      ({"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}, (1, 2, 8)),
                                      ({"kernel_size": 2}, (3, 7))])
def test_avg_pool1d(device, kw, shape):
    run_pair(nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw), randn(*shape), device)


@pytest.mark.parametrize("args,kw,length", [((4, 3, 3), {}, 6),
                                            ((4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1}, 5),
                                            ((4, 6, 2), {"stride": 3, "groups": 2, "dilation": 2, "bias": False}, 5),
                                            ((4, 2, 5), {"stride": 2, "padding": 2, "dilation": 1}, 4)])
def test_conv_transpose1d(device, args, kw, length):
    torch.manual_seed(0)
    run_pair(nn.ConvTranspose1d(*args, **kw), torch.nn.ConvTranspose1d(*args, **kw), randn(2, args[0], length), device)


def test_conv_transpose1d_output_size(device):
    """output_size picks among the lengths a stride allows, as torch's does."""
    torch.manual_seed(0)
    run_pair(nn.ConvTranspose1d(3, 2, 3, stride=3), torch.nn.ConvTranspose1d(3, 2, 3, stride=3), randn(1, 3, 4),
             device, output_size=[13])
    with pytest.raises(bg.ArgumentError):
        nn.ConvTranspose1d(3, 2, 3, stride=3)(bg.Tensor(randn(1, 3, 4)), output_size=[20])


def test_functional_1d_forms(device):
    x, w, b = randn(2, 4, 9), randn(4, 3, 3), randn(3)
    check(lambda x: F.max_pool1d(x, 3, 2, 1), lambda x: torch.nn.functional.max_pool1d(x, 3, 2, 1), [x], device)
    check(lambda x: F.avg_pool1d(x, 2, ceil_mode=True), lambda x: torch.nn.functional.avg_pool1d(x, 2, ceil_mode=True),
          [x], device)
    check(lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1), lambda x, w, b: torch.nn.functional.conv_transpose1d(
        x, w, b, 2, 1, 1), [x, w, b], device, scale=10)
    with pytest.raises(bg.ShapeError):
        F.conv_transpose1d(bg.Tensor(x[0]), bg.Tensor(w))


def _nets():
    def build(lib):
        torch.manual_seed(0)
        net = lib.Sequential(OrderedDict(features=lib.Sequential(lib.Conv1d(2, 4, 3), lib.BatchNorm1d(4),
                                                                 lib.ReLU()),
                                         head=lib.Linear(4, 2)))
        return net
    return build(nn), build(torch.nn)


def test_get_submodule_parameter_buffer():
    ours, theirs = _nets()
    assert ours.get_submodule("") is ours
    for path in ("features", "features.0", "features.2", "head"):
        assert type(ours.get_submodule(path)).__name__ == type(theirs.get_submodule(path)).__name__, path
    assert ours.get_parameter("features.0.weight") is ours.features[0].weight
    assert ours.get_buffer("features.1.running_var") is ours.features[1].running_var
    for bad in ("features.7", "head.weight", "nothing"):
        with pytest.raises(AttributeError):
            ours.get_submodule(bad)
        with pytest.raises(AttributeError):
            theirs.get_submodule(bad)
    with pytest.raises(AttributeError):
        ours.get_parameter("features.1.running_var")
    with pytest.raises(AttributeError):
        ours.get_buffer("head.weight")


def _layout(seq):
    return [(k, type(m).__name__) for k, m in seq.named_children()]


def test_sequential_and_module_list_editing_matches_torch():
    """Each edit leaves the same children under the same names ("0", "1", ... renumbered after a delete)."""
    for ours, theirs in ((nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU()),
                          torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid(), torch.nn.GELU())),
                         (nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU()]),
                          torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid(),
                                               torch.nn.GELU()]))):
        lib = nn
        edits = [
            lambda s, L: s.__setitem__(1, L.SiLU()),
            lambda s, L: s.__setitem__(-1, L.ELU()),
            lambda s, L: s.__delitem__(0),
            lambda s, L: s.insert(1, L.Softmax(dim=-1)),
            # torch's ModuleList.insert takes no negative index (it raises KeyError); ours counts from the end
            lambda s, L: s.insert(-1 if isinstance(s, (nn.Sequential, torch.nn.Sequential)) else len(s) - 1,
                                  L.Identity()),
            lambda s, L: s.insert(len(s), L.LeakyReLU()),
            lambda s, L: s.extend([L.ReLU(), L.Tanh()]),
            lambda s, L: s.__delitem__(slice(1, 5, 2)),
            lambda s, L: s.pop(-2),
            lambda s, L: s.pop(slice(0, 1)),
        ]
        for i, edit in enumerate(edits):
            edit(ours, lib)
            edit(theirs, torch.nn)
            assert _layout(ours) == _layout(theirs), (type(ours).__name__, i)
        bad_edits = [lambda s, L: s.__setitem__(len(s), L.ReLU()), lambda s, L: s.__delitem__(-len(s) - 1)]
        if isinstance(ours, nn.Sequential):  # torch's ModuleList.insert does not check the index
            bad_edits.append(lambda s, L: s.insert(len(s) + 1, L.ReLU()))
        for bad in bad_edits:
            with pytest.raises(IndexError):
                bad(ours, lib)
            with pytest.raises(IndexError):
                bad(theirs, torch.nn)


def test_sequential_edit_then_forward_and_state_dict():
    """An edited Sequential runs its new children in order and its state_dict keys are torch's."""
    ours, theirs = nn.Sequential(nn.Linear(3, 4), nn.ReLU()), torch.nn.Sequential(torch.nn.Linear(3, 4),
                                                                                  torch.nn.ReLU())
    for s, L in ((ours, nn), (theirs, torch.nn)):
        s.insert(0, L.Linear(3, 3))
        s.extend(L.Sequential(L.Linear(4, 2)))
        del s[2]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = randn(2, 3)
    compare(ours(bg.Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), scale=10, what="edited forward")


def test_state_dict_keep_vars_and_destination():
    """Values are detached unless keep_vars, as in torch; they share the buffers, so they follow later updates."""
    ours, theirs = _nets()
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    assert not any(v.requires_grad for v in sd.values()) and not any(v.requires_grad for v in tsd.values())
    kept, tkept = ours.state_dict(keep_vars=True), theirs.state_dict(keep_vars=True)
    assert kept["head.weight"] is ours.head.weight and tkept["head.weight"] is theirs.head.weight
    assert [v.requires_grad for v in kept.values()] == [v.requires_grad for v in tkept.values()]
    dest = {"extra": 1}
    out = ours.state_dict(destination=dest, prefix="net.")
    tout = theirs.state_dict(destination={"extra": 1}, prefix="net.")
    assert out is dest and list(out) == list(tout)
    weight = sd["head.weight"]
    ours.head.weight.grad = bg.ones(2, 4)
    optim.SGD([ours.head.weight], lr=0.5).step()
    compare(weight.numpy(), ours.head.weight.numpy(), what="state_dict value after an optimizer step")
    ours.load_state_dict(tsd)
    compare(ours.head.weight.numpy(), theirs.head.weight.detach().numpy(), what="loaded after editing")
