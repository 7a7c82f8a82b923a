"""torch parity for the activations, distances and random layers of baregrad.nn.functional.pointwise and their
modules (baregrad.nn.modules.pointwise): forward and gradients (inputs and PReLU's weight) on every device, the
random layers by their statistics and mask structure in training and by equality with torch in eval mode, and
the shape and argument errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import check, check_module, compare, raises_baregrad

RNG = np.random.default_rng(3)


def randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def joined(cat, cases):
    """One function of the inputs: every case's output, flattened and concatenated (one kernel set per device)."""
    return lambda *xs: cat([case(*xs).reshape(-1) for case in cases])


def _activations(lib):
    """The same activations in `lib` (F or torch.nn.functional) of (x, prelu weight)."""
    return [
        lambda x, w: lib.celu(x, 0.7), lambda x, w: lib.selu(x), lambda x, w: lib.glu(x, 1),
        lambda x, w: lib.hardshrink(x, 0.3), lambda x, w: lib.softshrink(x, 0.4), lambda x, w: lib.hardsigmoid(x),
        lambda x, w: lib.hardtanh(x, -0.5, 1.5), lambda x, w: lib.relu6(x * 2), lambda x, w: lib.logsigmoid(x),
        lambda x, w: lib.mish(x), lambda x, w: lib.softplus(x, 2, 3), lambda x, w: lib.softsign(x),
        lambda x, w: lib.tanhshrink(x), lambda x, w: lib.threshold(x, 0.1, -2.0), lambda x, w: lib.rrelu(x),
        lambda x, w: lib.softmin(x, 1), lambda x, w: lib.prelu(x, w), lambda x, w: lib.prelu(x, w[:1]),
        lambda x, w: lib.normalize(x), lambda x, w: lib.normalize(x, 1.0, -1),
        lambda x, w: lib.alpha_dropout(x), lambda x, w: lib.feature_alpha_dropout(x, 0.3, training=False),
        lambda x, w: lib.dropout1d(x, 0.5, False), lambda x, w: lib.dropout2d(x[None], 0.5, False),
        lambda x, w: lib.dropout3d(x[None, None], 0.5, False),
    ]


def test_activations_match_torch(device):
    check(joined(bg.Tensor.cat, _activations(F)), joined(torch.cat, _activations(TF)),
          [randn(3, 4, 5, scale=3.0), RNG.uniform(-0.5, 0.5, 4).astype(np.float32)], device, scale=10)


def _distances(lib):
    """cosine_similarity, pairwise_distance (broadcast, p, keepdim) and pdist of (a (3, 4), b (3, 4), c (4,))."""
    return [
        lambda a, b, c: lib.cosine_similarity(a, b), lambda a, b, c: lib.cosine_similarity(a, c, dim=-1, eps=0.5),
        lambda a, b, c: lib.pairwise_distance(a, b), lambda a, b, c: lib.pairwise_distance(a, c, 1.0, keepdim=True),
        lambda a, b, c: lib.pairwise_distance(c, b, 3.0, 1e-3), lambda a, b, c: lib.pdist(a),
        lambda a, b, c: lib.pdist(b, 1.5), lambda a, b, c: lib.pdist(a, float("inf")),
    ]


def test_distances_match_torch(device):
    check(joined(bg.Tensor.cat, _distances(F)), joined(torch.cat, _distances(TF)),
          [randn(3, 4), randn(3, 4), randn(4)], device, scale=10)


def _modules(lib):
    """Every module of modules/pointwise.py that takes one input, in eval mode (the random ones are then fixed)."""
    return lib.ModuleList([
        lib.CELU(0.5), lib.SELU(), lib.GLU(1), lib.Hardshrink(0.3), lib.Softshrink(0.4), lib.Hardsigmoid(),
        lib.Hardtanh(-0.5, 1.5), lib.ReLU6(), lib.LogSigmoid(), lib.Mish(), lib.PReLU(4, 0.1), lib.PReLU(),
        lib.RReLU(0.1, 0.3), lib.Softmin(1), lib.Softmax2d(), lib.Softplus(2.0, 3.0), lib.Softsign(), lib.Tanhshrink(),
        lib.Threshold(0.1, -2.0), lib.AlphaDropout(0.3), lib.FeatureAlphaDropout(), lib.Dropout1d(), lib.Dropout2d(),
        lib.Dropout3d()]).eval()


class Joined(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = _modules(nn)

    def forward(self, x):
        return bg.Tensor.cat([layer(x).reshape(-1) for layer in self.layers])


class TorchJoined(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = _modules(torch.nn)

    def forward(self, x):
        return torch.cat([layer(x).reshape(-1) for layer in self.layers])


@pytest.mark.filterwarnings("ignore:dropout[23]d")  # Dropout2d and Dropout3d get 3-d input, as in torch a warning
def test_modules_match_torch():
    """The modules, PReLU's weight gradients included (its slopes moved off the default first), on the default
    device: they only pass their arguments to the functions checked on every device above."""
    theirs = TorchJoined()
    with torch.no_grad():
        theirs.layers[10].weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.05]))
    check_module(Joined(), theirs, randn(3, 4, 5, scale=3.0), bg.Tensor([0.0]).device, RNG)


def test_module_arguments_match_torch():
    for make in (lambda L: L.PReLU(3, 0.2), lambda L: L.CosineSimilarity(0, 1e-4), lambda L: L.PairwiseDistance(1.0),
                 lambda L: L.Hardtanh(-2.0, 3.0), lambda L: L.RReLU(), lambda L: L.Threshold(0.5, 1.0),
                 lambda L: L.Softplus(2.0, 10.0)):
        ours, theirs = make(nn), make(torch.nn)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for name in ("num_parameters", "init", "dim", "eps", "norm", "keepdim", "min_val", "max_val", "lower", "upper",
                     "threshold", "value", "beta"):
            assert getattr(ours, name, None) == getattr(theirs, name, None), (type(theirs).__name__, name)
    compare(nn.PReLU(3, 0.2).weight.numpy(), torch.nn.PReLU(3, 0.2).weight.detach().numpy())
    a, b = randn(2, 3), randn(2, 3)
    compare(nn.CosineSimilarity(0)(bg.Tensor(a), bg.Tensor(b)).numpy(),
            torch.nn.CosineSimilarity(0)(torch.from_numpy(a), torch.from_numpy(b)).numpy())
    compare(nn.PairwiseDistance(1.0, keepdim=True)(bg.Tensor(a), bg.Tensor(b)).numpy(),
            torch.nn.PairwiseDistance(1.0, keepdim=True)(torch.from_numpy(a), torch.from_numpy(b)).numpy())


# ---- random layers in training ----
def test_rrelu_training_draws_slopes_in_range(device):
    x = bg.Tensor(randn(40, 50), device=device, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    out.sum().backward()
    xs, ys, g = x.numpy(), out.numpy(), x.grad.numpy()
    neg = xs < 0
    np.testing.assert_array_equal(ys[~neg], xs[~neg])
    slopes = ys[neg] / xs[neg]
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    assert abs(slopes.mean() - 0.2) < 0.01 and slopes.std() > 0.04  # U(0.1, 0.3): std 0.058
    compare(g[neg], slopes, what="gradient is the drawn slope")
    np.testing.assert_array_equal(g[~neg], 1.0)
    ours, theirs = nn.RReLU(0.1, 0.3), torch.nn.RReLU(0.1, 0.3)
    assert ours.training and not np.allclose(ours(x).numpy(), ours.eval()(x).numpy())
    compare(ours(x).numpy(), theirs.eval()(torch.from_numpy(xs)).numpy(), what="eval: the mean slope")


@pytest.mark.parametrize("fn,shape,channels", [(F.dropout1d, (8, 30, 5), (8, 30, 1)),
                                               (F.dropout1d, (60, 5), (60, 1)),
                                               (F.dropout2d, (6, 40, 2, 3), (6, 40, 1, 1)),
                                               (F.dropout3d, (50, 2, 2, 3), (50, 1, 1, 1))])
def test_channel_dropout_zeros_whole_channels(device, fn, shape, channels):
    """`channels` is the shape of one keep draw per channel (unbatched input: channels first)."""
    x = RNG.uniform(1, 2, shape).astype(np.float32)
    t = bg.Tensor(x, device=device, requires_grad=True)
    out = fn(t, 0.4)
    (out * 3).sum().backward()
    y = out.numpy()
    kept = _channel_kept(y, channels)
    compare(y, np.where(kept, x / 0.6, 0.0), what="kept channels scaled by 1 / (1 - p)")
    compare(t.grad.numpy(), np.where(kept, 3 / 0.6, 0.0), what="gradient follows the mask")
    assert 0.15 < 1 - kept.mean() < 0.65
    assert fn(t, 0.4, training=False) is t


def _channel_kept(y, channels):
    """The per-channel keep mask, checked constant within each channel, broadcast to y's shape."""
    axes = tuple(d for d, c in enumerate(channels) if c == 1)
    any_kept, all_kept = np.any(y != 0, axis=axes, keepdims=True), np.all(y != 0, axis=axes, keepdims=True)
    np.testing.assert_array_equal(any_kept, all_kept, err_msg="a channel is partly dropped")
    return np.broadcast_to(all_kept, y.shape)


def test_alpha_dropout_keeps_unit_statistics(device):
    """Dropped values sit at SELU's saturation value, kept ones are a * x + b; a unit normal input keeps mean 0
    and variance 1; the feature form drops whole channels."""
    p, alpha = 0.3, 1.7580993408473766
    a = (alpha * alpha * p + 1) ** -0.5 * (1 - p) ** -0.5
    x = randn(200, 100)
    y = F.alpha_dropout(bg.Tensor(x, device=device), p, training=True).numpy()
    dropped = np.isclose(y, alpha * a * (p - 1), atol=1e-6)
    compare(y[~dropped], a * x[~dropped] + alpha * a * p, what="kept values")
    assert abs(dropped.mean() - p) < 0.02 and abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
    z = F.feature_alpha_dropout(bg.Tensor(randn(40, 30, 3), device=device), p, training=True).numpy()
    flat = np.isclose(z, alpha * a * (p - 1), atol=1e-6)
    np.testing.assert_array_equal(flat.all(-1), flat.any(-1))
    assert 0.15 < flat.all(-1).mean() < 0.45
    compare(F.alpha_dropout(bg.Tensor(x, device=device), 1.0, True).numpy(), np.zeros_like(x))


def test_gumbel_softmax_samples_and_straight_through(device):
    logits = np.log(np.array([0.2, 0.5, 0.3], np.float32))
    rows = bg.Tensor(np.tile(logits, (3000, 1)), device=device)
    soft = F.gumbel_softmax(rows, tau=0.5).numpy()
    compare(soft.sum(-1), np.ones(3000), what="rows sum to 1")
    counts = np.bincount(soft.argmax(-1), minlength=3) / 3000
    assert np.abs(counts - [0.2, 0.5, 0.3]).max() < 0.04, counts
    x = bg.Tensor(np.tile(logits, (4, 2, 1)), device=device, requires_grad=True)
    w = bg.Tensor(randn(4, 2, 3), device=device)
    bg.manual_seed(5)
    hard = F.gumbel_softmax(x, hard=True, dim=-1)
    (hard * w).sum().backward()
    hard_grad = x.grad.numpy()
    x.grad = None
    bg.manual_seed(5)
    soft = F.gumbel_softmax(x, dim=-1)
    (soft * w).sum().backward()
    y = hard.numpy()
    np.testing.assert_array_equal(y.sum(-1), 1.0)
    np.testing.assert_array_equal(y.argmax(-1), soft.numpy().argmax(-1))
    assert set(np.unique(y)) <= {0.0, 1.0}
    compare(hard_grad, x.grad.numpy(), what="straight-through gradient")


# ---- errors ----
def test_errors_name_the_shapes():
    x = bg.Tensor(randn(2, 3, 4))
    raises_baregrad(bg.ShapeError, ValueError, r"dimension 1 is size 3 \(input shape \(2, 3, 4\)\)",
                    lambda: F.glu(x, 1))
    raises_baregrad(bg.ShapeError, ValueError, "glu does not support scalars", lambda: F.glu(bg.Tensor(1.0)))
    raises_baregrad(bg.ShapeError, ValueError, r"parameter numbers = 4 and channel size = 3 \(input shape \(2, 3, 4\)",
                    lambda: F.prelu(x, bg.ones(4)))
    raises_baregrad(bg.ShapeError, ValueError, "scalar or 1D tensor, but got: ndim = 2",
                    lambda: F.prelu(x, bg.ones(1, 3)))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3, 4\), \(2, 4\)\] cannot be broadcast",
                    lambda: F.cosine_similarity(x, bg.ones(2, 4)))
    raises_baregrad(bg.ShapeError, ValueError, r"\(3, 3\) and \(2, 3, 4\)|\(2, 3, 4\) and \(3, 3\)",
                    lambda: F.pairwise_distance(x, bg.ones(3, 3)))
    raises_baregrad(bg.ShapeError, ValueError, r"pdist only supports 2D tensors, got: 3D \(shape \(2, 3, 4\)\)",
                    lambda: F.pdist(x))
    raises_baregrad(bg.ShapeError, ValueError, r"Expected 2D or 3D input, but received a 4D input \(shape",
                    lambda: F.dropout1d(x[None]))
    raises_baregrad(bg.ShapeError, ValueError, r"Feature dropout requires at least 2 dimensions.*\(4,\)",
                    lambda: F.feature_alpha_dropout(x[0, 0], 0.5, True))
    raises_baregrad(bg.ShapeError, ValueError, r"Softmax2d: expected input to be 3D or 4D, got 2D instead",
                    lambda: nn.Softmax2d()(x[0]))


def test_argument_errors():
    x = bg.Tensor(randn(2, 3))
    for fn in (lambda: F.alpha_dropout(x, 1.5), lambda: F.dropout2d(x[None], -0.1), lambda: nn.Dropout3d(2.0)):
        raises_baregrad(bg.ArgumentError, ValueError, "dropout probability has to be between 0 and 1", fn)
    raises_baregrad(bg.ArgumentError, ValueError, "Lower bound should be less than or equal to the upper bound",
                    lambda: F.rrelu(x, 0.5, 0.2))
    raises_baregrad(bg.ArgumentError, ValueError, "alpha cannot be 0 for CELU", lambda: F.celu(x, 0.0))
    raises_baregrad(bg.ArgumentError, ValueError, "lambda must be greater or equal to 0",
                    lambda: F.softshrink(x, -1.0))
    raises_baregrad(bg.ArgumentError, ValueError, "min_val cannot be greater than max_val",
                    lambda: F.hardtanh(x, 2.0, 1.0))
    raises_baregrad(bg.ArgumentError, ValueError, r"max_val \(1.0\) must be greater than min_val \(2.0\)",
                    lambda: nn.Hardtanh(2.0, 1.0))
    raises_baregrad(bg.ArgumentError, ValueError, "non-negative p", lambda: F.pdist(x, -1.0))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        compare(F.softmin(x).numpy(), TF.softmin(torch.from_numpy(x.numpy()), 1).numpy())
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(bg.Tensor(randn(2, 3, 4)), 0.5, training=False)
