"""RMSprop, Adagrad, Adamax, NAdam and RAdam against torch.optim: the same parameters and gradients over several
steps, maximize and weight decay included, a OneCycleLR that cycles their momentum, and state_dict round trips
(ours into ours, torch's into ours) that resume exactly where the saved run was."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.optim as optim
from tests.helpers import compare

RNG = np.random.default_rng(7)
START = [RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal((4,)).astype(np.float32)]
GRADS = [[RNG.standard_normal(p.shape).astype(np.float32) for p in START] for _ in range(8)]

CASES = [
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adamax", {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.02}),
    ("NAdam", {"lr": 0.02, "weight_decay": 0.1, "momentum_decay": 0.1, "decoupled_weight_decay": True}),
    # 7 steps: with beta2=0.999 the rectified update starts at step 6; with 0.9 at step 3
    ("RAdam", {"lr": 0.02, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True}),
]
RESUME = [("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}), ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
          ("Adamax", {"lr": 0.02}), ("NAdam", {"lr": 0.02}), ("RAdam", {"lr": 0.02})]


def _set_grads(params, grads, device):
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g) if isinstance(p, torch.Tensor) else bg.Tensor(g, device=device)


def _check(ours, theirs, what):
    for i, (b, t) in enumerate(zip(ours, theirs)):
        compare(b.numpy(), t.detach().numpy(), scale=10, what=f"{what}: param {i}")


@pytest.mark.parametrize("name,kwargs", CASES)
def test_optimizer_matches_torch(device, name, kwargs):
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, device=device, requires_grad=True) for p in START]
    topt, bopt = getattr(torch.optim, name)(tp, **kwargs), getattr(optim, name)(bp, **kwargs)
    for step, grads in enumerate(GRADS[:7]):
        _set_grads(tp, grads, None)
        _set_grads(bp, grads, device)
        topt.step()
        bopt.step()
        _check(bp, tp, f"{name} {kwargs} after step {step}")


@pytest.mark.parametrize("name,kwargs", RESUME)
def test_state_dict_round_trips(name, kwargs):
    """Three steps, save (as numpy), rebuild, load, three more: torch's six uninterrupted steps. torch's own
    state_dict after three steps loads too, and each saved state has torch's keys."""
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    topt = getattr(torch.optim, name)([{"params": tp[:1]}, {"params": tp[1:], "lr": 0.03}], **kwargs)
    params = [bg.Tensor(p, requires_grad=True) for p in START]
    opt = getattr(optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.03}], **kwargs)
    for grads in GRADS[:3]:
        _set_grads(tp, grads, None)
        _set_grads(params, grads, "CPU")
        topt.step()
        opt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i in sd["state"]:
        assert set(sd["state"][i]) - {"first"} == set(tsd["state"][i]), f"{name} state keys"
        for k, v in sd["state"][i].items():
            compare(v.numpy(), tsd["state"][i][k].numpy(), scale=10, what=f"{name} state {i}.{k}")
    saved = {"state": {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in sd["state"].items()},
             "param_groups": [dict(g) for g in sd["param_groups"]]}
    resumed = []
    for state in (saved, tsd):
        ps = [bg.Tensor(p.numpy().copy(), requires_grad=True) for p in params]
        o = getattr(optim, name)([{"params": ps[:1]}, {"params": ps[1:]}], **kwargs)
        o.load_state_dict(state)
        assert [g["lr"] for g in o.param_groups] == [kwargs["lr"], 0.03]
        resumed.append((ps, o))
    for grads in GRADS[3:6]:
        _set_grads(tp, grads, None)
        topt.step()
        for ps, o in resumed:
            _set_grads(ps, grads, "CPU")
            o.step()
    for (ps, _), source in zip(resumed, ("our state_dict", "torch's state_dict")):
        _check(ps, tp, f"{name} resumed from {source}")


@pytest.mark.parametrize("name,kwargs", [("RMSprop", {"lr": 0.01, "momentum": 0.9}), ("NAdam", {"lr": 0.01}),
                                         ("RAdam", {"lr": 0.01}), ("Adamax", {"lr": 0.01})])
def test_one_cycle_cycles_their_momentum(name, kwargs):
    """OneCycleLR cycles RMSprop's momentum and the others' beta1; the device copies follow without recompiles."""
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, requires_grad=True) for p in START]
    topt, bopt = getattr(torch.optim, name)(tp, **kwargs), getattr(optim, name)(bp, **kwargs)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=8)
    bsched = optim.lr_scheduler.OneCycleLR(bopt, max_lr=0.05, total_steps=8)
    compiles = []
    for step, grads in enumerate(GRADS[:7]):
        _set_grads(tp, grads, None)
        _set_grads(bp, grads, "CPU")
        topt.step()
        bg.counters(reset=True)
        bopt.step()
        compiles.append(bg.counters()["compiles"])
        tsched.step()
        bsched.step()
        np.testing.assert_allclose(bsched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        _check(bp, tp, f"{name} with OneCycleLR after step {step}")
    assert compiles[2:] == [0] * len(compiles[2:]), compiles


def test_adagrad_state_exists_before_the_first_step():
    """torch's Adagrad fills its state when built: a fresh state_dict lists every parameter, sum at its start."""
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, requires_grad=True) for p in START]
    tsd = torch.optim.Adagrad(tp, initial_accumulator_value=0.25).state_dict()
    sd = optim.Adagrad(bp, initial_accumulator_value=0.25).state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1]
    compare(sd["state"][0]["sum"].numpy(), tsd["state"][0]["sum"].numpy())
    compare(sd["state"][1]["step"].numpy(), tsd["state"][1]["step"].numpy())


@pytest.mark.parametrize("name,kwargs", [("RMSprop", {"lr": -1}), ("RMSprop", {"momentum": -0.1}),
                                         ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1}),
                                         ("Adamax", {"betas": (1.0, 0.9)}), ("NAdam", {"momentum_decay": -1}),
                                         ("RAdam", {"eps": -1}), ("RAdam", {"differentiable": True})])
def test_invalid_settings_are_refused(name, kwargs):
    with pytest.raises(bg.ArgumentError):
        getattr(optim, name)([bg.Tensor(START[1], requires_grad=True)], **kwargs)


def test_torch_hints_are_accepted():
    """foreach/capturable/fused only pick torch's kernel strategy; ours is one fused graph either way."""
    p = [bg.Tensor(START[1], requires_grad=True)]
    optim.RMSprop(p, capturable=True, foreach=False)
    optim.Adagrad(p, foreach=True, fused=None)
    optim.Adamax(p, foreach=None, capturable=False)
    optim.NAdam(p, foreach=False, capturable=False)
    optim.RAdam(p, foreach=False, capturable=False)
