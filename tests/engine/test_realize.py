"""engine.realize: a lazy tensor set up before a buffer it computes from is written in place is not silently
computed from the new values (torch computes it at once; views still follow their buffer, as in torch)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
import baregrad.optim as optim
from tests.helpers import compare

RNG = np.random.default_rng(3)


def test_a_tensor_computed_before_a_write_is_not_read_after_it(device):
    start = RNG.standard_normal((3, 4)).astype(np.float32)
    p = bg.Tensor(start, device=device)
    doubled = p * 2
    p.assign(p + 1).realize()
    with pytest.raises(bg.StaleReadError, match=r"float32\[3, 4\] buffer that was written in place"):
        doubled.numpy()
    compare(p.numpy(), start + 1)  # the failed read left everything usable
    compare((p * 2).numpy(), (start + 1) * 2)  # built again after the write: the new values


def test_views_follow_their_buffer(device):
    start = RNG.standard_normal((3, 4)).astype(np.float32)
    p = bg.Tensor(start, device=device)
    tp = torch.tensor(start)
    views = [p.reshape(4, 3), p.T, p[1:, ::2], p.detach()]
    tviews = [tp.reshape(4, 3), tp.T, tp[1:, ::2], tp.detach()]
    p.assign(p * 3).realize()
    tp.mul_(3)
    for view, tview in zip(views, tviews):
        compare(view.numpy(), tview.numpy())


def test_computed_together_with_the_write_it_sees_the_old_values(device):
    start = RNG.standard_normal(5).astype(np.float32)
    p = bg.Tensor(start, device=device)
    before = p.exp()
    bg.realize_all([before, p.assign(p - 1)])
    compare(before.numpy(), np.exp(start))
    compare(p.numpy(), start - 1)


def test_logits_read_after_the_optimizer_step():
    """A training loop that counts accuracy from logits after step(): torch uses the logits of the forward that
    ran; baregrad cannot, and says so instead of counting with the updated weights."""
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.5)
    x = bg.Tensor(RNG.standard_normal((8, 4)).astype(np.float32))
    y = bg.Tensor(RNG.integers(0, 3, 8))
    logits = model(x)
    F.cross_entropy(logits, y).backward()
    opt.step()
    with pytest.raises(bg.StaleReadError, match="optimizer.step"):
        logits.argmax(-1).numpy()
    logits = model(x)  # the usual order: forward, read what is needed, backward, step
    loss = F.cross_entropy(logits, y)
    correct = (logits.argmax(-1) == y).sum()
    bg.realize_all([loss, correct])
    loss.backward()
    opt.step()
    assert 0 <= correct.item() <= 8


def test_a_jit_replay_counts_as_the_write_it_replays():
    """The jitted step's assigns run again in every replay: a tensor set up before a replay is stale after it."""
    p = bg.Tensor(np.zeros(4, np.float32))

    @bg.jit
    def bump(step: bg.Tensor) -> bg.Tensor:
        p.assign(p + step)
        return p * 1.0

    one = bg.Tensor(np.ones(4, np.float32))
    for _ in range(3):  # plain call, capture, replay
        bump(one)
    before = p.exp()
    bump(one)
    with pytest.raises(bg.StaleReadError):
        before.numpy()
    compare(p.numpy(), np.full(4, 4.0, np.float32))
    compare(p.exp().numpy(), np.exp(np.full(4, 4.0, np.float32)))
