"""MultiplicativeLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, SequentialLR,
ChainedScheduler and ReduceLROnPlateau against torch.optim.lr_scheduler: the same lrs step by step (torch's
chained forms, so compositions agree too), step(epoch)'s closed forms, and state_dict round trips (ours and
torch's) that resume where the saved schedule was."""
import warnings

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.optim as optim
from tests.helpers import train_like_torch

START = [np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]


def _optimizers(name="SGD", **kwargs):
    """Ours and torch's, two parameter groups with different lrs (schedules scale each group's own lr)."""
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, requires_grad=True) for p in START]
    groups = lambda ps: [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.3}]  # noqa: E731
    return getattr(optim, name)(groups(bp), lr=0.1, **kwargs), getattr(torch.optim, name)(groups(tp), lr=0.1, **kwargs)


def _sequential(lib, opt):
    return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.25, total_iters=3),
                                  lib.ExponentialLR(opt, gamma=0.8), lib.StepLR(opt, step_size=2, gamma=0.5)],
                            milestones=[3, 6])


def _chained(lib, opt):
    return lib.ChainedScheduler([lib.ConstantLR(opt, factor=0.5, total_iters=2),
                                 lib.ExponentialLR(opt, gamma=0.9), lib.MultiStepLR(opt, [2, 4], gamma=0.5)])


def _nested(lib, opt):
    """A ChainedScheduler inside a SequentialLR, then cosine annealing."""
    warm = lib.ChainedScheduler([lib.LinearLR(opt, start_factor=0.5, total_iters=2), lib.ExponentialLR(opt, 0.9)])
    return lib.SequentialLR(opt, [warm, lib.CosineAnnealingLR(opt, T_max=3, eta_min=0.01)], milestones=[4])


SCHEDULES = {
    "MultiplicativeLR": lambda lib, opt: lib.MultiplicativeLR(opt, lambda e: 0.9 if e % 2 else 0.7),
    "MultiStepLR": lambda lib, opt: lib.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.3),
    "ConstantLR": lambda lib, opt: lib.ConstantLR(opt, factor=0.4, total_iters=3),
    "LinearLR": lambda lib, opt: lib.LinearLR(opt, start_factor=0.2, end_factor=0.9, total_iters=4),
    "ExponentialLR": lambda lib, opt: lib.ExponentialLR(opt, gamma=0.7),
    "PolynomialLR": lambda lib, opt: lib.PolynomialLR(opt, total_iters=5, power=2.0),
    "StepLR": lambda lib, opt: lib.StepLR(opt, step_size=3, gamma=0.5),
    "CosineAnnealingLR": lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=3, eta_min=0.01),
    "SequentialLR": _sequential,
    "ChainedScheduler": _chained,
    "nested": _nested,
}


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def _step(opt, sched, *args):
    opt.step()  # no gradients: a no-op that keeps torch from warning about the call order
    sched.step(*args)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation and call-order warnings
        yield


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
def test_schedule_matches_torch(kind):
    bopt, topt = _optimizers()
    bsched, tsched = SCHEDULES[kind](optim.lr_scheduler, bopt), SCHEDULES[kind](torch.optim.lr_scheduler, topt)
    np.testing.assert_allclose(bsched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13, err_msg=f"{kind} at start")
    for epoch in range(10):
        _step(bopt, bsched)
        _step(topt, tsched)
        np.testing.assert_allclose(bsched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13, err_msg=f"{kind} {epoch}")
        np.testing.assert_allclose(_lrs(bopt), _lrs(topt), rtol=1e-13, err_msg=f"{kind} group lr at {epoch}")


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
def test_state_dict_round_trip(kind):
    """Four steps, save, rebuild optimizer and scheduler, load (ours, or torch's own state_dict), six more steps:
    the lrs are torch's uninterrupted ones."""
    bopt, topt = _optimizers()
    bsched, tsched = SCHEDULES[kind](optim.lr_scheduler, bopt), SCHEDULES[kind](torch.optim.lr_scheduler, topt)
    for _ in range(4):
        _step(bopt, bsched)
        _step(topt, tsched)
    resumed = []
    for saved in (bsched.state_dict(), tsched.state_dict()):
        opt, _ = _optimizers()
        sched = SCHEDULES[kind](optim.lr_scheduler, opt)
        sched.load_state_dict(saved)
        resumed.append((opt, sched))
    for epoch in range(6):
        _step(topt, tsched)
        for source, (opt, sched) in zip(("ours", "torch's"), resumed):
            _step(opt, sched)
            np.testing.assert_allclose(_lrs(opt), _lrs(topt), rtol=1e-13, err_msg=f"{kind} from {source}, {epoch}")
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13)


@pytest.mark.parametrize("kind", ["MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
                                  "StepLR", "CosineAnnealingLR"])
def test_step_with_epoch_uses_the_closed_form(kind):
    bopt, topt = _optimizers()
    bsched, tsched = SCHEDULES[kind](optim.lr_scheduler, bopt), SCHEDULES[kind](torch.optim.lr_scheduler, topt)
    for epoch in (3, 1, 7, 2):
        _step(bopt, bsched, epoch)
        _step(topt, tsched, epoch)
        np.testing.assert_allclose(_lrs(bopt), _lrs(topt), rtol=1e-13, err_msg=f"{kind} step({epoch})")


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
    {"factor": 0.2, "patience": 0, "min_lr": [0.01, 0.05], "eps": 1e-3},
    {"mode": "max", "factor": 0.5, "patience": 2, "threshold": 0.05, "min_lr": 0.02},
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    """The metric goes down, stalls, wobbles and rises: reductions, patience, cooldown and min_lr all show.
    Half way the scheduler is rebuilt from a state_dict (ours, then torch's)."""
    metrics = [5.0, 4.0, 4.0, 3.99, 4.1, 4.2, 3.0, 3.0, 3.1, 2.9, 2.95, 3.0, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7]
    bopt, topt = _optimizers()
    bsched = optim.lr_scheduler.ReduceLROnPlateau(bopt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    for i, m in enumerate(metrics):
        if i == 6:
            bsched2 = optim.lr_scheduler.ReduceLROnPlateau(bopt, **kwargs)
            bsched2.load_state_dict(bsched.state_dict())
            bsched = bsched2
        if i == 12:
            bsched.load_state_dict(tsched.state_dict())
        # a 0-d float32 Tensor (a loss) is taken as the metric too, as torch takes its own
        _step(bopt, bsched, bg.Tensor(m) if i % 2 else m)
        _step(topt, tsched, torch.tensor(m) if i % 2 else m)
        assert _lrs(bopt) == _lrs(topt), (i, kwargs)
        assert bsched.get_last_lr() == tsched.get_last_lr()
        assert (bsched.num_bad_epochs, bsched.cooldown_counter, bsched.best) == \
            (tsched.num_bad_epochs, tsched.cooldown_counter, tsched.best)


def test_schedules_drive_training_like_torch():
    """A warm-up then decay SequentialLR over Adam: the parameters follow torch's, and after the first steps a
    changing lr compiles nothing."""
    bopt, topt = _optimizers("Adam")
    bsched, tsched = _sequential(optim.lr_scheduler, bopt), _sequential(torch.optim.lr_scheduler, topt)
    compiles = train_like_torch(bopt, topt, bsched, tsched, 7, 3, "under SequentialLR")
    assert compiles[2:] == [0] * 5, compiles


def test_bad_arguments_are_refused():
    bopt, _ = _optimizers()
    other, _ = _optimizers()
    lib = optim.lr_scheduler
    with pytest.raises(bg.ArgumentError):
        lib.SequentialLR(bopt, [lib.ExponentialLR(bopt, 0.9)], milestones=[2])
    with pytest.raises(bg.ArgumentError):
        lib.SequentialLR(bopt, [lib.ExponentialLR(bopt, 0.9), lib.ExponentialLR(other, 0.9)], milestones=[2])
    with pytest.raises(bg.ArgumentError):
        lib.ChainedScheduler([lib.ReduceLROnPlateau(bopt)])
    with pytest.raises(bg.ArgumentError):
        lib.ReduceLROnPlateau(bopt, factor=1.0)
    with pytest.raises(bg.ArgumentError):
        lib.ReduceLROnPlateau(bopt, min_lr=[0.1])
    with pytest.raises(bg.ArgumentError):
        lib.LinearLR(bopt, start_factor=0)
    with pytest.raises(bg.ArgumentError):
        lib.ConstantLR(bopt, factor=2)
