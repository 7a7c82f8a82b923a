"""torch.optim parity for checkpointing: optimizer and scheduler state_dict()/load_state_dict() round trips, and
loading torch's own optimizer state, resume exactly where the saved run was."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.optim as optim
from tests.helpers import compare

RNG = np.random.default_rng(1)
START = [RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal((4,)).astype(np.float32)]
GRADS = [[RNG.standard_normal(p.shape).astype(np.float32) for p in START] for _ in range(6)]

CASES = [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
         ("Adam", {"lr": 0.05, "amsgrad": True}),
         ("AdamW", {"lr": 0.05, "weight_decay": 0.1})]


def _steps(params, opt, sched, grads, device):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g) if isinstance(p, torch.Tensor) else bg.Tensor(g, device=device)
        opt.step()
        if sched is not None:
            sched.step()


def _torch_run(name, kwargs, steps):
    params = [torch.tensor(p, requires_grad=True) for p in START]
    opt = getattr(torch.optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], **kwargs)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _steps(params, opt, sched, GRADS[:steps], None)
    return params, opt, sched


def _ours(name, kwargs, values, device, load=None):
    """Parameters, optimizer and scheduler; `load` is an optimizer state to load before the scheduler is built."""
    params = [bg.Tensor(v, device=device, requires_grad=True) for v in values]
    opt = getattr(optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], **kwargs)
    if load is not None:
        opt.load_state_dict(load)
    return params, opt, optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_resume_from_state_dict_matches_uninterrupted_torch(device, name, kwargs):
    """Three steps, save model/optimizer/scheduler state (as numpy), rebuild everything, load, three more steps:
    the result is torch's six uninterrupted steps. Optimizer.load_state_dict and LRScheduler.load_state_dict
    used to be missing."""
    expected, _, _ = _torch_run(name, kwargs, 6)
    params, opt, sched = _ours(name, kwargs, START, device)
    _steps(params, opt, sched, GRADS[:3], device)
    saved_params = [p.numpy().copy() for p in params]
    sd = opt.state_dict()
    saved_opt = {"state": {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in sd["state"].items()},
                 "param_groups": [dict(g) for g in sd["param_groups"]]}
    saved_sched = sched.state_dict()
    # the scheduler is built after the load here: building it resets the lr, its load_state_dict restores it
    params, opt, sched = _ours(name, kwargs, saved_params, device, load=saved_opt)
    sched.load_state_dict(saved_sched)
    _steps(params, opt, sched, GRADS[3:6], device)
    for i, (b, t) in enumerate(zip(params, expected)):
        compare(b.numpy(), t.detach().numpy(), scale=10, what=f"{name} param {i} after resume")


@pytest.mark.parametrize("name,kwargs", CASES)
def test_load_torch_optimizer_state_dict(device, name, kwargs):
    """torch's state_dict (tensor state, "params" indices, SGD's buffer without our first-step flag) loads."""
    tparams, topt, tsched = _torch_run(name, kwargs, 3)
    params, opt, sched = _ours(name, kwargs, [p.detach().numpy() for p in tparams], device)
    opt.load_state_dict(topt.state_dict())
    sched.load_state_dict(tsched.state_dict())
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    _steps(tparams, topt, tsched, GRADS[3:5], None)
    _steps(params, opt, sched, GRADS[3:5], device)
    for i, (b, t) in enumerate(zip(params, tparams)):
        compare(b.numpy(), t.detach().numpy(), scale=10, what=f"{name} param {i} after loading torch's state")


def test_state_dict_layout_matches_torch():
    """Each saved group lists its parameters' indices under "params", as torch's does."""
    tparams, topt, _ = _torch_run("SGD", {"lr": 0.1, "momentum": 0.9}, 1)
    params, opt, _ = _ours("SGD", {"lr": 0.1, "momentum": 0.9}, START, "CPU")
    _steps(params, opt, None, GRADS[:1], "CPU")
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]] == [[0], [1]]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    compare(ours["state"][1]["momentum_buffer"].numpy(), theirs["state"][1]["momentum_buffer"].numpy())
    with pytest.raises(bg.ArgumentError):
        opt.load_state_dict({"state": {}, "param_groups": ours["param_groups"][:1]})


def test_torch_constructor_forms():
    """torch takes named_parameters() and the foreach/fused hints; Adam(decoupled_weight_decay=True) is AdamW, also
    when that setting arrives in a loaded torch state_dict."""
    import baregrad.nn as nn
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.named_parameters(), lr=0.1, foreach=None, fused=None)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == list(model.parameters())
    with pytest.raises(bg.ArgumentError):
        optim.Adam(model.parameters(), differentiable=True)
    kwargs = {"lr": 0.05, "weight_decay": 0.1}
    expected, _, _ = _torch_run("AdamW", kwargs, 2)
    for make in [lambda ps: optim.Adam(ps, decoupled_weight_decay=True, fused=None, **kwargs),
                 lambda ps: optim.AdamW(ps, foreach=False, **kwargs)]:
        params = [bg.Tensor(v, requires_grad=True) for v in START]
        opt = make([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}])
        _steps(params, opt, optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5), GRADS[:2], "CPU")
        for b, t in zip(params, expected):
            compare(b.numpy(), t.detach().numpy(), scale=10, what="decoupled weight decay")
    # torch's AdamW state says decoupled_weight_decay=True: loaded into our Adam, the next steps are AdamW's
    tparams, topt, _ = _torch_run("AdamW", kwargs, 2)
    params = [bg.Tensor(p.detach().numpy(), requires_grad=True) for p in tparams]
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:]}], **kwargs)
    opt.load_state_dict(topt.state_dict())
    _steps(tparams, topt, None, GRADS[2:4], None)
    _steps(params, opt, None, GRADS[2:4], "CPU")
    for b, t in zip(params, tparams):
        compare(b.numpy(), t.detach().numpy(), scale=10, what="loaded decoupled_weight_decay")


def test_frozen_parameters_are_accepted_and_left_alone():
    """torch.optim takes model.parameters() with frozen (requires_grad=False) parameters in it; they get no grad,
    so a step leaves them as they are. A plain tensor that is no parameter is still refused."""
    import baregrad.nn as nn

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(bg.full((2,), 2.0), requires_grad=False)
            self.lin = nn.Linear(2, 2)

    model = Frozen()
    model.lin.bias.requires_grad_(False)
    opt = optim.Adam(model.parameters(), lr=0.1)
    before = [p.numpy().copy() for p in model.parameters()]
    (model.lin(bg.ones(1, 2)) * model.scale).sum().backward()
    opt.step()
    after = [p.numpy() for p in model.parameters()]
    assert (after[0] == before[0]).all() and (after[2] == before[2]).all() and (after[1] != before[1]).all()
    with pytest.raises(bg.ArgumentError):
        optim.SGD([bg.zeros(2)], lr=0.1)
