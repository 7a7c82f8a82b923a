"""Optimizers and schedulers against torch.optim: the same params and gradients over a few steps."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.optim as optim
from tests.helpers import compare

RNG = np.random.default_rng(0)
START = [RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal((4,)).astype(np.float32)]
GRADS = [[RNG.standard_normal(p.shape).astype(np.float32) for p in START] for _ in range(4)]

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "eps": 1e-3}),
]


def run_both(name, kwargs, device, schedule=None, steps=4):
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, device=device, requires_grad=True) for p in START]
    topt, bopt = getattr(torch.optim, name)(tp, **kwargs), getattr(optim, name)(bp, **kwargs)
    tsched = bsched = None
    if schedule:
        sname, skw = schedule
        tsched = getattr(torch.optim.lr_scheduler, sname)(topt, **skw)
        bsched = getattr(optim.lr_scheduler, sname)(bopt, **skw)
    for step in range(steps):
        grads = GRADS[step % len(GRADS)]
        for t, b, g in zip(tp, bp, grads):
            t.grad, b.grad = torch.tensor(g), bg.Tensor(g, device=device)
        topt.step()
        bopt.step()
        if tsched:
            tsched.step()
            bsched.step()
            np.testing.assert_allclose(bsched.get_last_lr(), tsched.get_last_lr(), rtol=1e-9)
        for i, (t, b) in enumerate(zip(tp, bp)):
            compare(b.numpy(), t.detach().numpy(), scale=10, what=f"{name} {kwargs} param {i} after step {step}")
    return bopt


@pytest.mark.parametrize("name,kwargs", CASES)
def test_optimizer_matches_torch(device, name, kwargs):
    run_both(name, kwargs, device)


@pytest.mark.parametrize("schedule", [("StepLR", {"step_size": 2, "gamma": 0.5}),
                                      ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.001}),
                                      ("LambdaLR", {"lr_lambda": lambda e: 1 / (e + 1)}),
                                      ("OneCycleLR", {"max_lr": 0.05, "total_steps": 6}),
                                      ("OneCycleLR", {"max_lr": 0.05, "total_steps": 7, "three_phase": True,
                                                      "anneal_strategy": "linear"})])
def test_scheduler_matches_torch(schedule):
    run_both("Adam", {"lr": 0.01}, "CPU", schedule, steps=6)
    run_both("SGD", {"lr": 0.01, "momentum": 0.9}, "CPU", schedule, steps=6)


def test_step_compiles_once_and_is_few_kernels():
    """After the first step a schedule-driven step compiles nothing, and the update is a handful of kernels."""
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    x, y = bg.randn(4, 6).realize(), bg.Tensor([0, 1, 1, 0])
    counts = []
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        bg.counters(reset=True)
        opt.step()
        sched.step()
        counts.append(bg.counters())
    assert counts[1]["compiles"] == 0 and counts[2]["compiles"] == 0, counts
    n_params = len(list(model.parameters()))
    assert counts[2]["kernels"] <= 5 * n_params + 2, counts


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_loss_read_after_step_is_this_steps_loss(name):
    """torch semantics: the loss a step returns is computed with the weights before the update, even when it is
    read after optimizer.step() has written the parameters in place."""
    x = RNG.standard_normal((8, 6)).astype(np.float32)
    y = RNG.integers(0, 3, 8)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    opt, topt = getattr(optim, name)(model.parameters(), lr=0.5), getattr(torch.optim, name)(tmodel.parameters(),
                                                                                                lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        loss = nn.functional.cross_entropy(model(bg.Tensor(x)), bg.Tensor(y.astype(np.int32)))
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        compare(loss.numpy(), tloss.detach().numpy(), scale=10, what=f"{name} loss read after its step")


def test_zero_grad_and_clipping():
    p = bg.Tensor(np.ones(4, np.float32), requires_grad=True)
    q = bg.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    g1, g2 = np.array([3.0, 0, 0, 4], np.float32), np.array([0, 12.0, 0], np.float32)
    p.grad, q.grad = bg.Tensor(g1), bg.Tensor(g2)
    tp, tq = torch.ones(4, requires_grad=True), torch.ones(3, requires_grad=True)
    tp.grad, tq.grad = torch.tensor(g1), torch.tensor(g2)
    total = nn.utils.clip_grad_norm_([p, q], 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_([tp, tq], 1.0)
    compare(total.numpy(), ttotal.numpy(), what="total norm")
    compare(p.grad.numpy(), tp.grad.numpy(), what="clipped grad")
    nn.utils.clip_grad_value_([q], 0.5)
    torch.nn.utils.clip_grad_value_([tq], 0.5)
    compare(q.grad.numpy(), tq.grad.numpy(), what="value-clipped grad")
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0] * 4
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    with pytest.raises(bg.ArgumentError):
        optim.SGD([bg.zeros(2)], lr=0.1)
