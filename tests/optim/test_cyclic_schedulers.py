"""CyclicLR and CosineAnnealingWarmRestarts against torch.optim.lr_scheduler: the same lrs (and cycled momentum or
beta1) step by step in several settings, float epochs, state_dict round trips from ours and torch's, composition in
SequentialLR, training, and torch's ValueError cases raised as baregrad errors."""
import warnings

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.optim as optim
from tests.helpers import raises_baregrad, train_like_torch

START = [np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]
OPTIMIZERS = {"SGD": {"momentum": 0.9}, "Adam": {}, "RMSprop": {"momentum": 0.5}, "Adagrad": {}}


def _optimizers(name="SGD"):
    """Ours and torch's, two parameter groups with different lrs."""
    tp = [torch.tensor(p, requires_grad=True) for p in START]
    bp = [bg.Tensor(p, requires_grad=True) for p in START]
    groups = lambda ps: [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.3}]  # noqa: E731
    kwargs = OPTIMIZERS[name]
    return (getattr(optim, name)(groups(bp), lr=0.1, **kwargs),
            getattr(torch.optim, name)(groups(tp), lr=0.1, **kwargs))


class Halving:
    """A scale_fn that is a callable object: its attributes go into state_dict, as torch saves them."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** x


def _after_exponential(lib, opt):
    """CyclicLR built after another scheduler set initial_lr: torch's first lr is then that initial_lr."""
    lib.ExponentialLR(opt, gamma=0.5)
    return lib.CyclicLR(opt, base_lr=0.02, max_lr=0.2, step_size_up=3)


# (optimizer, build(lib, opt)): every mode, custom scale functions both ways, per-group lists, uneven halves
CYCLIC = {
    "triangular": ("SGD", lambda lib, opt: lib.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    "triangular2-adam": ("Adam", lambda lib, opt: lib.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=[0.1, 0.5],
                                                                 step_size_up=5, step_size_down=3, mode="triangular2",
                                                                 base_momentum=[0.8, 0.7], max_momentum=0.95)),
    "exp_range-rmsprop": ("RMSprop", lambda lib, opt: lib.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                                   step_size_down=5, mode="exp_range", gamma=0.9)),
    "scale_fn-iterations": ("SGD", lambda lib, opt: lib.CyclicLR(opt, 0.001, 0.01, step_size_up=3,
                                                                 scale_fn=lambda x: 1 / (1 + 0.1 * x),
                                                                 scale_mode="iterations")),
    "scale_fn-cycle-no-momentum": ("Adagrad", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, step_size_up=2,
                                                                            mode="not a mode", scale_fn=Halving(0.7),
                                                                            cycle_momentum=False)),
    "down-only": ("SGD", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, step_size_up=1, step_size_down=6)),
    "after-exponential": ("Adam", _after_exponential),
}

WARM_RESTARTS = {
    "T_0=3": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=3),
    "T_mult=2": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01),
    "T_mult=3": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 1, 3, 0.05),
}


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _step(opt, sched, *args):
    opt.step()  # no gradients: a no-op that keeps torch from warning about the call order
    sched.step(*args)


def _same(bopt, bsched, topt, tsched, what):
    """Exactly torch's floats: the formulas are evaluated in torch's order."""
    assert _lrs(bopt) == _lrs(topt), what
    assert bsched.get_last_lr() == tsched.get_last_lr(), what
    assert _momenta(bopt) == _momenta(topt), f"momentum, {what}"


def _pair(builders, kind):
    name, build = builders[kind] if isinstance(builders[kind], tuple) else ("SGD", builders[kind])
    bopt, topt = _optimizers(name)
    return bopt, build(optim.lr_scheduler, bopt), topt, build(torch.optim.lr_scheduler, topt)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation and call-order warnings
        yield


@pytest.mark.parametrize("kind", list(CYCLIC))
def test_cyclic_lr_matches_torch(kind):
    bopt, bsched, topt, tsched = _pair(CYCLIC, kind)
    _same(bopt, bsched, topt, tsched, f"{kind} at start")
    for step in range(30):
        _step(bopt, bsched)
        _step(topt, tsched)
        _same(bopt, bsched, topt, tsched, f"{kind} step {step}")


@pytest.mark.parametrize("kind", list(WARM_RESTARTS))
def test_warm_restarts_match_torch(kind):
    bopt, bsched, topt, tsched = _pair(WARM_RESTARTS, kind)
    _same(bopt, bsched, topt, tsched, f"{kind} at start")
    for step in range(30):
        _step(bopt, bsched)
        _step(topt, tsched)
        _same(bopt, bsched, topt, tsched, f"{kind} step {step}")
        assert (bsched.T_cur, bsched.T_i, bsched.last_epoch) == (tsched.T_cur, tsched.T_i, tsched.last_epoch)


@pytest.mark.parametrize("kind", list(WARM_RESTARTS))
def test_warm_restarts_take_float_epochs(kind):
    """step(epoch + batch / batches) as torch's docs show, then jumps back and forth mixed with plain steps."""
    bopt, bsched, topt, tsched = _pair(WARM_RESTARTS, kind)
    epochs = [e + i / 4 for e in range(12) for i in range(4)] + [26, None, None, 3.5, None, 0, 40.25, None, 7]
    for epoch in epochs:
        args = () if epoch is None else (epoch,)
        _step(bopt, bsched, *args)
        _step(topt, tsched, *args)
        _same(bopt, bsched, topt, tsched, f"{kind} step({epoch})")
        assert (bsched.T_cur, bsched.T_i, bsched.last_epoch) == (tsched.T_cur, tsched.T_i, tsched.last_epoch)


@pytest.mark.parametrize("kind", ["triangular", "exp_range-rmsprop", "scale_fn-cycle-no-momentum"])
def test_cyclic_lr_step_with_epoch(kind):
    bopt, bsched, topt, tsched = _pair(CYCLIC, kind)
    for epoch in (5, 2, 11, 3):
        _step(bopt, bsched, epoch)
        _step(topt, tsched, epoch)
        _same(bopt, bsched, topt, tsched, f"{kind} step({epoch})")


@pytest.mark.parametrize("kind", [("cyclic", k) for k in CYCLIC] + [("restarts", k) for k in WARM_RESTARTS])
def test_state_dict_round_trip(kind):
    """Seven steps, save, rebuild optimizer and scheduler, load (ours, or torch's own state_dict): lr and momentum
    are torch's uninterrupted ones right away and for ten more steps."""
    builders = CYCLIC if kind[0] == "cyclic" else WARM_RESTARTS
    bopt, bsched, topt, tsched = _pair(builders, kind[1])
    for _ in range(7):
        _step(bopt, bsched)
        _step(topt, tsched)
    resumed = []
    for saved in (bsched.state_dict(), tsched.state_dict()):
        opt, sched, _, _ = _pair(builders, kind[1])
        sched.load_state_dict(saved)
        resumed.append((opt, sched))
    for step in range(11):
        for source, (opt, sched) in zip(("ours", "torch's"), resumed):
            _same(opt, sched, topt, tsched, f"{kind} from {source}, step {step}")
            _step(opt, sched)
        _step(topt, tsched)


def test_callable_scale_fn_state_is_restored():
    """A callable object's attributes come back from state_dict (ours or torch's) into the new scheduler's own."""
    build = lambda lib, opt, rate: lib.CyclicLR(opt, 0.01, 0.1, step_size_up=2, scale_fn=Halving(rate))  # noqa: E731
    bopt, topt = _optimizers()
    tsched = build(torch.optim.lr_scheduler, topt, 0.5)
    bsaved = build(optim.lr_scheduler, _optimizers()[0], 0.5).state_dict()
    for saved in (bsaved, tsched.state_dict()):
        sched = build(optim.lr_scheduler, bopt, 0.9)
        sched.load_state_dict(saved)
        assert sched._scale_fn_custom.rate == 0.5
    for step in range(8):
        _step(bopt, sched)
        _step(topt, tsched)
        _same(bopt, sched, topt, tsched, f"step {step}")


def _warm_up_then_restarts(lib, opt):
    return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.25, total_iters=3),
                                  lib.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)], milestones=[3])


def test_warm_restarts_inside_sequential_lr():
    bopt, topt = _optimizers()
    bsched, tsched = _warm_up_then_restarts(optim.lr_scheduler, bopt), _warm_up_then_restarts(
        torch.optim.lr_scheduler, topt)
    for step in range(16):
        _step(bopt, bsched)
        _step(topt, tsched)
        _same(bopt, bsched, topt, tsched, f"step {step}")


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_cycled_momentum_drives_training_like_torch(name):
    """The optimizer reads the cycled momentum (beta1): the parameters follow torch's, compiling nothing new after
    the first steps."""
    bopt, topt = _optimizers(name)
    bsched, tsched = (lib.CyclicLR(opt, 0.01, 0.1, step_size_up=2, base_momentum=0.5, max_momentum=0.9)
                      for lib, opt in ((optim.lr_scheduler, bopt), (torch.optim.lr_scheduler, topt)))
    compiles = train_like_torch(bopt, topt, bsched, tsched, 6, 5, f"of {name} under CyclicLR")
    assert compiles[2:] == [0] * 4, compiles


BAD = {
    "mode": ("SGD", "is invalid and scale_fn is None", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, mode="tri")),
    "no momentum": ("Adagrad", "must support momentum or beta1", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1)),
    "base_lr count": ("SGD", "base_lr must have the same length", lambda lib, opt: lib.CyclicLR(opt, [0.1], 0.2)),
    "max_lr count": ("SGD", "max_lr must have the same length",
                     lambda lib, opt: lib.CyclicLR(opt, 0.01, [0.1, 0.2, 0.3])),
    "base_momentum count": ("Adam", "base_momentum must have the same length",
                            lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, base_momentum=[0.8])),
    "T_0 zero": ("SGD", "positive integer T_0", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=0)),
    "T_0 float": ("SGD", "positive integer T_0", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=2.0)),
    "T_mult zero": ("SGD", "integer T_mult >= 1", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 2, T_mult=0)),
    "T_mult float": ("SGD", "integer T_mult >= 1",
                     lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 2, T_mult=1.5)),
    "eta_min": ("SGD", "float or int eta_min", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 2, eta_min="0")),
    "negative epoch": ("SGD", "non-negative epoch", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 2).step(-1)),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_raise_like_torch(case):
    """Where torch raises ValueError, ours raises an ArgumentError (a ValueError) with the same words."""
    name, match, build = BAD[case]
    bopt, topt = _optimizers(name)
    with pytest.raises(ValueError, match=match):
        build(torch.optim.lr_scheduler, topt)
    raises_baregrad(bg.ArgumentError, ValueError, match, lambda: build(optim.lr_scheduler, bopt))
