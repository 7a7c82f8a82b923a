"""baregrad.nn modules against torch.nn: the same weights give the same outputs and gradients."""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
from tests.helpers import compare

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_pair(ours, theirs, inputs, device, scale=10.0, call=None):
    """Load torch's weights into ours, run both, compare outputs, input gradients and parameter gradients."""
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    call = call or (lambda m, *xs: m(*xs))
    float_in = [x.dtype.kind == "f" for x in inputs]
    tt = [torch.tensor(x, requires_grad=f) for x, f in zip(inputs, float_in)]
    bt = [bg.Tensor(x, device=device, requires_grad=f) for x, f in zip(inputs, float_in)]
    expected, actual = call(theirs, *tt), call(ours, *bt)
    compare(actual.numpy(), expected.detach().numpy(), scale=scale, what="forward")
    w = randn(*expected.shape)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    for i, (b, t) in enumerate(zip(bt, tt)):
        if t.requires_grad:
            compare(b.grad.numpy(), t.grad.numpy(), scale=scale * 10, what=f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        compare(p.grad.numpy(), theirs_params[name].grad.numpy(), scale=scale * 10, what=f"grad of {name}")


def test_linear_and_sequential(device):
    t = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.GELU(), torch.nn.Linear(4, 3, bias=False),
                            torch.nn.LogSoftmax(-1))
    ours = nn.Sequential(nn.Linear(5, 4), nn.GELU(), nn.Linear(4, 3, bias=False), nn.LogSoftmax(-1))
    run_pair(ours, t, [randn(2, 5)], device)


@pytest.mark.parametrize("kind", ["conv2d", "conv2d_groups_reflect", "conv1d", "conv_transpose2d"])
def test_conv_modules(device, kind):
    pairs = {"conv2d": (nn.Conv2d(4, 6, 3, padding=1, stride=2), torch.nn.Conv2d(4, 6, 3, padding=1, stride=2)),
             "conv2d_groups_reflect": (nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect"),
                                       torch.nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect")),
             "conv1d": (nn.Conv1d(4, 3, 3, padding="same"), torch.nn.Conv1d(4, 3, 3, padding="same")),
             "conv_transpose2d": (nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                                  torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1))}
    ours, theirs = pairs[kind]
    x = randn(2, 4, 5) if kind == "conv1d" else randn(2, 4, 5, 5)
    run_pair(ours, theirs, [x], device)


def test_batchnorm2d_train_then_eval(device):
    theirs, ours = torch.nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-1, 1)
    x = randn(4, 3, 3, 3)
    run_pair(ours, theirs, [x], device)
    run_pair(ours, theirs, [x * 2 + 1], device)
    for name, buf in theirs.named_buffers():
        compare(getattr(ours, name).numpy(), buf.numpy(), scale=10, what=name)
    theirs.eval(), ours.eval()
    run_pair(ours, theirs, [x], device)


def test_batchnorm_running_stats_across_optimizer_steps(device):
    """The running statistics are taken in the forward pass, before optimizer.step() writes the weights: they
    used to be computed later, with the updated weights."""
    import baregrad.nn.functional as F
    import baregrad.optim as optim
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6))
    ours = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6))
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    topt, bopt = torch.optim.SGD(theirs.parameters(), lr=0.5), optim.SGD(ours.parameters(), lr=0.5)
    for _ in range(3):
        x, y = randn(8, 4), RNG.integers(0, 6, 8)
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
        bopt.zero_grad()
        F.cross_entropy(ours(bg.Tensor(x, device=device)), bg.Tensor(y, device=device)).backward()
        bopt.step()
    for name, buf in theirs[1].named_buffers():
        compare(getattr(ours[1], name).numpy(), buf.numpy(), scale=10, what=name)


def test_norm_modules(device):
    run_pair(nn.LayerNorm(5), torch.nn.LayerNorm(5), [randn(3, 5)], device)
    run_pair(nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4), [randn(2, 4, 3)], device)
    run_pair(nn.RMSNorm(5), torch.nn.RMSNorm(5), [randn(3, 5)], device)
    run_pair(nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4), [randn(6, 4)], device)


def test_embedding(device):
    run_pair(nn.Embedding(7, 4, padding_idx=2), torch.nn.Embedding(7, 4, padding_idx=2),
             [np.array([[1, 2, 6], [0, 2, 1]], np.int64)], device)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(device, batch_first):
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    with torch.no_grad():
        theirs.in_proj_bias.uniform_(-1, 1)
        theirs.out_proj.bias.uniform_(-1, 1)
    q, kv = randn(3, 2, 8), randn(4, 2, 8)
    if batch_first:
        q, kv = np.ascontiguousarray(q.transpose(1, 0, 2)), np.ascontiguousarray(kv.transpose(1, 0, 2))
    mask = np.zeros((3, 4), bool)
    mask[0, 3] = mask[2, 1] = True
    padding = np.array([[False, False, False, True], [False, False, False, False]])

    def call(m, q, kv):
        lib = torch if isinstance(m, torch.nn.Module) else None
        to = (lambda a: torch.tensor(a)) if lib else (lambda a: bg.Tensor(a, device=device))
        out, weights = m(q, kv, kv, key_padding_mask=to(padding), attn_mask=to(mask))
        return out + weights.sum() if batch_first else out
    run_pair(ours, theirs, [q, kv], device, call=call)


def test_state_dict_errors_name_keys():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    good = dict(sd)
    m.load_state_dict(good)
    with pytest.raises(bg.ShapeError, match=r"missing keys: \['2.bias'\]"):
        m.load_state_dict({k: v for k, v in sd.items() if k != "2.bias"})
    with pytest.raises(bg.ShapeError, match=r"unexpected keys: \['extra'\]"):
        m.load_state_dict({**sd, "extra": np.zeros(1, np.float32)})
    with pytest.raises(bg.ShapeError, match=r"0.weight: checkpoint \(3, 2\) vs model \(2, 3\)"):
        m.load_state_dict({**sd, "0.weight": np.zeros((3, 2), np.float32)})
    result = m.load_state_dict({k: v for k, v in sd.items() if k != "2.bias"}, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == []
    new = {**sd, "0.bias": np.array([5.0, 6.0], np.float32)}
    m.load_state_dict(new)
    assert m[0].bias.tolist() == [5.0, 6.0]


def test_module_bookkeeping():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.ModuleList([nn.Linear(2, 2)]),
                      nn.ModuleDict({"head": nn.Linear(2, 1, bias=False)}))
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "3.0.weight", "3.0.bias", "4.head.weight"]
    assert [n for n, _ in m.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert all(p.requires_grad for p in m.parameters())
    assert len(list(m.modules())) == 8 and len(list(m.children())) == 5
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.half()
    assert m[0].weight.dtype is bg.float16 and m[1].num_batches_tracked.dtype is bg.int64
    assert "(4): ModuleDict(\n    (head): Linear(in_features=2, out_features=1, bias=False)" in repr(m)
    for p in m.parameters():
        p.grad = p.ones_like()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_default_init_matches_torch_bounds():
    lin, conv = nn.Linear(200, 300), nn.Conv2d(16, 32, 3)
    for layer, fan_in in ((lin, 200), (conv, 16 * 9)):
        w, b = layer.weight.numpy(), layer.bias.numpy()
        bound = 1 / math.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
        assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
        assert np.abs(b).max() <= bound
    x = nn.init.xavier_normal_(bg.zeros(100, 300))
    assert abs(x.numpy().std() - math.sqrt(2 / 400)) < 0.003
    k = nn.init.kaiming_normal_(bg.zeros(300, 100), nonlinearity="relu").numpy()
    assert abs(k.std() - math.sqrt(2 / 100)) < 0.005
    emb = nn.Embedding(10, 1000, padding_idx=3).weight.numpy()
    assert (emb[3] == 0).all() and abs(np.delete(emb, 3, 0).std() - 1) < 0.02
