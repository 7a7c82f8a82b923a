"""ParameterList and ParameterDict against torch's: the names their parameters take in an owning module's
parameters() and state_dict(), loading a torch state_dict, gradients through them, and the list/dict operations."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
from tests.helpers import compare

RNG = np.random.default_rng(3)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _model(lib, tensor):
    """A module owning a ParameterList and a ParameterDict (plain dict: torch sorts its keys) plus a Linear."""
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.scales = lib.ParameterList([lib.Parameter(tensor(randn(3))), lib.Parameter(tensor(randn(3)))])
            self.shifts = lib.ParameterDict({"zeta": lib.Parameter(tensor(randn(3))),
                                             "alpha": lib.Parameter(tensor(randn(2, 3)))})
            self.proj = lib.Linear(3, 2)

        def forward(self, x):
            for s in self.scales:
                x = x * s
            x = x + self.shifts["zeta"] + self.shifts["alpha"].sum(0)
            return self.proj(x)

    return Net()


def test_state_dict_names_match_torch():
    ours, theirs = _model(nn, bg.Tensor), _model(torch.nn, torch.tensor)
    names = ["scales.0", "scales.1", "shifts.alpha", "shifts.zeta", "proj.weight", "proj.bias"]
    assert [k for k, _ in theirs.named_parameters()] == names
    assert [k for k, _ in ours.named_parameters()] == names
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    compare(ours.shifts["alpha"].numpy(), theirs.shifts["alpha"].detach().numpy())
    assert len(list(ours.parameters())) == 6


def test_gradients_flow_through_containers(device):
    torch.manual_seed(0)
    ours, theirs = _model(nn, bg.Tensor), _model(torch.nn, torch.tensor)
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    x = randn(4, 3)
    expected, actual = theirs(torch.tensor(x)), ours(bg.Tensor(x, device=device))
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="forward")
    (expected ** 2).sum().backward()
    (actual ** 2).sum().backward()
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        compare(p.grad.numpy(), tp.grad.numpy(), scale=100, what=f"grad of {name}")


def test_parameter_list_operations():
    plist = nn.ParameterList()
    plist.append(bg.Tensor([1.0, 2.0]))  # a plain tensor becomes a parameter
    plist.extend([nn.Parameter(bg.Tensor([3.0]), requires_grad=False), "not a tensor"])
    plist += [bg.Tensor([4.0])]
    assert len(plist) == 4
    assert plist[0].requires_grad and not plist[1].requires_grad
    assert plist[2] == "not a tensor" and plist[-1].numpy().tolist() == [4.0]
    assert [k for k, _ in plist.named_parameters()] == ["0", "1", "3"]  # frozen ones stay parameters
    assert list(plist.state_dict()) == ["0", "1", "3"]
    sliced = plist[1:]
    assert isinstance(sliced, nn.ParameterList) and len(sliced) == 3 and sliced[0] is plist[1]
    plist[2] = bg.Tensor([5.0])
    assert list(plist.state_dict()) == ["0", "1", "3", "2"]  # registered last, as in torch
    with pytest.raises(IndexError):
        plist[4]
    with pytest.raises(TypeError):
        plist.extend(bg.Tensor([1.0]))
    with pytest.raises(bg.Error):
        plist(bg.Tensor([1.0]))


def test_parameter_dict_operations():
    pdict = nn.ParameterDict(OrderedDict(b=bg.Tensor([1.0]), a=bg.Tensor([2.0])))  # ordered: kept as given
    pdict.update({"d": bg.Tensor([3.0]), "c": bg.Tensor([4.0])})  # a plain dict: sorted, as torch sorts it
    pdict.update([("e", bg.Tensor([5.0]))])
    assert list(pdict) == ["b", "a", "c", "d", "e"] == list(pdict.state_dict())
    assert "c" in pdict and "z" not in pdict and pdict.get("z") is None
    assert pdict["b"].requires_grad
    assert pdict.pop("a").numpy().tolist() == [2.0] and "a" not in dict(pdict.named_parameters())
    del pdict["d"]
    assert pdict.setdefault("f", bg.Tensor([6.0])).numpy().tolist() == [6.0]
    assert pdict.popitem()[0] == "f"
    merged = pdict | nn.ParameterDict({"g": bg.Tensor([7.0])})
    assert list(merged.keys()) == ["b", "c", "e", "g"] and merged["b"] is pdict["b"]
    assert [k for k, _ in pdict.items()] == ["b", "c", "e"] and len(list(pdict.values())) == 3
    pdict.clear()
    assert len(pdict) == 0 and list(pdict.parameters()) == []
    with pytest.raises(KeyError):
        pdict["b"]
    with pytest.raises(TypeError):
        pdict[0] = bg.Tensor([1.0])


def test_optimizer_updates_container_parameters():
    """The parameters the containers register are the ones an optimizer steps."""
    import baregrad.optim as optim
    model = _model(nn, bg.Tensor)
    before = model.shifts["zeta"].numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    (model(bg.Tensor(randn(2, 3))) ** 2).sum().backward()
    opt.step()
    assert not np.allclose(model.shifts["zeta"].numpy(), before)
