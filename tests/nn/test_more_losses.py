"""torch parity for the losses of baregrad.nn.functional.loss and their modules: Poisson and Gaussian NLL, the
margin, hinge, cosine-embedding, triplet, multi-label and multi-class margin losses, soft margin, and CTC
(forward and gradients, each reduction, on every device); their shape and argument errors; the modules'
arguments, buffers and the deprecated size_average/reduce pair."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import check, compare, raises_baregrad

RNG = np.random.default_rng(7)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def joined(cat, cases):
    """One function of the inputs: every case's output, flattened and concatenated (one kernel set per device)."""
    return lambda *xs: cat([case(*xs).reshape(-1) for case in cases])


def _constants(device):
    """Targets and weights (no gradient), as a (baregrad, torch) pair of dicts."""
    arrays = {"sign": signs(4, 5), "sign_row": signs(4), "counts": RNG.integers(0, 4, (4, 5)).astype(np.float32),
              "probs": RNG.random((4, 5)).astype(np.float32), "weight": RNG.random(5).astype(np.float32) + 0.5,
              "classes": np.array([0, 3, 4, 1]), "labels": np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0],
                                                                     [4, 3, 2, 1, 0], [-1, 2, 2, 2, 2]])}
    return ({k: bg.Tensor(v, device=device) for k, v in arrays.items()},
            {k: torch.from_numpy(v) for k, v in arrays.items()})


def _cases(lib, c, reduction):
    """The same losses in `lib` (F or torch.nn.functional) on inputs (x, y, var, x1, x2); c holds the constants."""
    r = {"reduction": reduction}

    def cosine_distance(a, b):
        return 1 - lib.cosine_similarity(a, b, dim=1)

    return [
        lambda x, y, v, x1, x2: lib.poisson_nll_loss(x, c["counts"], **r),
        lambda x, y, v, x1, x2: lib.poisson_nll_loss(v, c["counts"], log_input=False, full=True, **r),
        lambda x, y, v, x1, x2: lib.gaussian_nll_loss(x, y, v, **r),
        lambda x, y, v, x1, x2: lib.gaussian_nll_loss(x, y, v[:, 0], full=True, **r),
        lambda x, y, v, x1, x2: lib.margin_ranking_loss(x1[:, 0], x2[:, 0], c["sign_row"], margin=0.3, **r),
        lambda x, y, v, x1, x2: lib.hinge_embedding_loss(x, c["sign"], margin=0.5, **r),
        lambda x, y, v, x1, x2: lib.soft_margin_loss(x, c["sign"], **r),
        lambda x, y, v, x1, x2: lib.cosine_embedding_loss(x1, x2, c["sign_row"], margin=0.2, **r),
        lambda x, y, v, x1, x2: lib.triplet_margin_loss(x, x1, x2, **r),
        lambda x, y, v, x1, x2: lib.triplet_margin_loss(x, x1, x2, margin=0.5, p=1, swap=True, **r),
        lambda x, y, v, x1, x2: lib.triplet_margin_with_distance_loss(x, x1, x2, distance_function=cosine_distance,
                                                                      margin=0.4, swap=True, **r),
        lambda x, y, v, x1, x2: lib.multilabel_margin_loss(x, c["labels"], **r),
        lambda x, y, v, x1, x2: lib.multilabel_soft_margin_loss(x, c["probs"], c["weight"], **r),
        lambda x, y, v, x1, x2: lib.multi_margin_loss(x, c["classes"], **r),
        lambda x, y, v, x1, x2: lib.multi_margin_loss(x, c["classes"], p=2, margin=0.7, weight=c["weight"], **r),
    ]


def _loss_inputs():
    return [randn(4, 5), randn(4, 5), RNG.random((4, 5)).astype(np.float32) + 0.1, randn(4, 5), randn(4, 5)]


def test_losses_match_torch(device):
    """reduction='none', forward and gradients: each element's loss and its own gradient."""
    ours, theirs = _constants(device)
    check(joined(bg.Tensor.cat, _cases(F, ours, "none")), joined(torch.cat, _cases(TF, theirs, "none")),
          _loss_inputs(), device, scale=10)


def test_loss_reductions_match_torch(device):
    """'mean' and 'sum', forward only: their gradients are autograd's through the 'none' losses checked above (and
    each backward adds large fused kernels, slow to compile on OpenCL)."""
    ours, theirs = _constants(device)
    mine = [case for r in ("mean", "sum") for case in _cases(F, ours, r)]
    torchs = [case for r in ("mean", "sum") for case in _cases(TF, theirs, r)]
    check(joined(bg.Tensor.cat, mine), joined(torch.cat, torchs), _loss_inputs(), device, grad=False, scale=10)


def _ctc_cases(lib, targets, flat):
    """CTC over log_probs (T=6, N=3, C=5) with input lengths 6, 5, 4 (one set of shapes, so one set of kernels):
    padded and concatenated targets, every reduction, another blank, an impossible alignment under zero_infinity,
    and logits through log_softmax (the usual use)."""
    lengths, tl = [6, 5, 4], [3, 2, 1]
    return [
        lambda lp, z: lib.ctc_loss(lp, targets, lengths, tl, reduction="none"),
        lambda lp, z: lib.ctc_loss(lp, targets, lengths, tl),
        lambda lp, z: lib.ctc_loss(lp, flat, lengths, tl, blank=2, reduction="sum"),
        lambda lp, z: lib.ctc_loss(lp, targets, [2, 5, 4], [3, 0, 1], reduction="none", zero_infinity=True),
        lambda lp, z: lib.ctc_loss(lp, targets, [2, 5, 4], [3, 0, 1], zero_infinity=True),
        lambda lp, z: lib.ctc_loss(z.log_softmax(-1), targets, [6, 6, 3], [2, 2, 1]),
    ]


def test_ctc_loss_matches_torch(device):
    """Gradients are torch's (which, for log_probs given directly, include its exp(log_probs) term)."""
    targets = np.array([[1, 3, 3], [3, 1, 0], [4, 4, 4]])
    flat = np.array([1, 3, 3, 3, 1, 4])
    lp = torch.from_numpy(randn(6, 3, 5)).log_softmax(-1).numpy()
    ours = _ctc_cases(F, bg.Tensor(targets, device=device), bg.Tensor(flat, device=device))
    theirs = _ctc_cases(TF, torch.from_numpy(targets), torch.from_numpy(flat))
    check(joined(bg.Tensor.cat, ours), joined(torch.cat, theirs), [lp, randn(6, 3, 5)], device, scale=10)


def test_ctc_loss_infinity_and_empty_input(device):
    """An impossible alignment costs inf without zero_infinity; a zero-length input fits only the empty target."""
    targets = bg.Tensor([[1, 1, 2], [2, 3, 0], [1, 2, 3]], device=device)
    lp = bg.Tensor(randn(6, 3, 5), device=device).log_softmax(-1)
    out = F.ctc_loss(lp, targets, [2, 0, 0], [3, 0, 1], reduction="none").numpy()
    if device != "WEBGPU":  # WGSL does not promise to keep infinities
        assert math.isinf(out[0]) and out[0] > 0 and math.isinf(out[2])
    assert out[1] == 0


def test_loss_modules_match_torch():
    """Each module passes its arguments and buffers on: the same values as torch's module."""
    x, y, v, x1, x2 = randn(4, 5), randn(4, 5), RNG.random((4, 5)).astype(np.float32) + 0.1, randn(4, 5), randn(4, 5)
    ours, theirs = _constants(None)
    w = RNG.random(5).astype(np.float32)
    weight = {nn: bg.Tensor(w), torch.nn: torch.from_numpy(w)}
    pairs = [
        (lambda L: L.PoissonNLLLoss(log_input=False, full=True, eps=1e-3, reduction="sum"), (v, "counts")),
        (lambda L: L.GaussianNLLLoss(full=True, eps=0.2), (x, y, v)),
        (lambda L: L.MarginRankingLoss(0.3, reduction="none"), (x1, x2, "sign")),
        (lambda L: L.HingeEmbeddingLoss(0.5), (x, "sign")),
        (lambda L: L.CosineEmbeddingLoss(0.2, reduction="sum"), (x1, x2, "sign_row")),
        (lambda L: L.SoftMarginLoss(), (x, "sign")),
        (lambda L: L.TripletMarginLoss(0.5, p=1.5, eps=1e-3, swap=True), (x, x1, x2)),
        (lambda L: L.TripletMarginWithDistanceLoss(margin=2.0, reduction="none"), (x, x1, x2)),
        (lambda L: L.MultiLabelMarginLoss(reduction="sum"), (x, "labels")),
        (lambda L: L.MultiLabelSoftMarginLoss(weight=weight[L]), (x, "probs")),
        (lambda L: L.MultiMarginLoss(2, 0.5, weight=weight[L], reduction="none"), (x, "classes")),
    ]
    for make, args in pairs:
        mine, torchs = make(nn), make(torch.nn)
        a = [ours[k] if isinstance(k, str) else bg.Tensor(k) for k in args]
        b = [theirs[k] if isinstance(k, str) else torch.from_numpy(k) for k in args]
        compare(mine(*a).numpy(), torchs(*b).numpy(), scale=10, what=type(torchs).__name__)
        assert list(mine.state_dict()) == list(torchs.state_dict()), type(torchs).__name__


def test_ctc_module_and_legacy_reduction():
    lp = torch.from_numpy(randn(5, 2, 4)).log_softmax(-1)
    targets = torch.tensor([[1, 2], [3, 3]])
    for kw in ({}, {"blank": 3, "reduction": "sum"}, {"reduction": "none", "zero_infinity": True}):
        expected = torch.nn.CTCLoss(**kw)(lp, torch.tensor([[1, 2], [1, 1]]) if kw.get("blank") else targets,
                                          torch.tensor([5, 4]), torch.tensor([2, 1]))
        t = bg.Tensor([[1, 2], [1, 1]]) if kw.get("blank") else bg.Tensor(targets.numpy())
        actual = nn.CTCLoss(**kw)(bg.Tensor(lp.numpy()), t, bg.Tensor([5, 4]), bg.Tensor([2, 1]))
        compare(actual.numpy(), expected.numpy(), scale=10, what=str(kw))
    for tg in ([1, 2], [[1, 2, 0]]):  # unbatched: (T, C) log_probs, 1-d concatenated or (1, S) padded targets
        expected = torch.nn.CTCLoss(reduction="none")(lp[:, 1], torch.tensor(tg), torch.tensor(5), torch.tensor(2))
        actual = nn.CTCLoss(reduction="none")(bg.Tensor(lp[:, 1].numpy()), bg.Tensor(tg), bg.Tensor(5), 2)
        assert actual.shape == ()
        compare(actual.numpy(), expected.numpy(), scale=10, what=f"unbatched {tg}")
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MarginRankingLoss(reduce=False).reduction == "none"
        assert nn.MultiLabelMarginLoss(size_average=True, reduce=True).reduction == "mean"
        x, t = bg.Tensor(randn(3)), bg.Tensor(signs(3))
        summed = F.soft_margin_loss(x, t, reduction="sum").numpy()
        compare(F.soft_margin_loss(x, t, size_average=False).numpy(), summed)


def test_loss_errors():
    x, t = bg.Tensor(randn(3, 4)), bg.Tensor(signs(3, 4))
    for fn in (lambda: F.soft_margin_loss(x, t, reduction="bad"),
               lambda: F.hinge_embedding_loss(x, t, reduction="avg"),
               lambda: F.ctc_loss(bg.zeros(2, 1, 3), bg.Tensor([[1]]), [2], [1], reduction="total")):
        raises_baregrad(bg.ArgumentError, ValueError, "is not a valid value for reduction", fn)
    raises_baregrad(bg.ShapeError, ValueError, r"\(3, 5\) and \(3, 4\)",
                    lambda: F.soft_margin_loss(x, bg.Tensor(signs(3, 5))))
    raises_baregrad(bg.ShapeError, ValueError, r"input1: \(3, 4\), input2: \(3,\), target: \(3, 4\)",
                    lambda: F.margin_ranking_loss(x, bg.Tensor(randn(3)), t))
    raises_baregrad(bg.ShapeError, ValueError, r"1D target tensor expects 2D input.*\(3, 4\) and \(4,\)",
                    lambda: F.cosine_embedding_loss(x, bg.Tensor(randn(4)), bg.Tensor(signs(3))))
    raises_baregrad(bg.ShapeError, ValueError, r"anchor 2D, positive 2D, and negative 1D.*\(4,\)",
                    lambda: F.triplet_margin_loss(x, x, bg.Tensor(randn(4))))
    raises_baregrad(bg.ArgumentError, ValueError, "margin must be greater than 0",
                    lambda: F.triplet_margin_with_distance_loss(x, x, x, margin=0))
    raises_baregrad(bg.ArgumentError, ValueError, "expected margin to be greater than 0",
                    lambda: nn.TripletMarginLoss(margin=-1.0))
    raises_baregrad(bg.ShapeError, ValueError, r"inconsistent target size: \(3, 3\) for input of size: \(3, 4\)",
                    lambda: F.multilabel_margin_loss(x, bg.Tensor(np.zeros((3, 3), np.int64))))
    raises_baregrad(bg.ShapeError, ValueError, r"Expected target size \[3\], but got \(2,\)",
                    lambda: F.multi_margin_loss(x, bg.Tensor([0, 1])))
    raises_baregrad(bg.ShapeError, ValueError, r"inconsistent weight size, expected 4 but got \(3,\)",
                    lambda: F.multi_margin_loss(x, bg.Tensor([0, 1, 2]), weight=bg.ones(3)))
    raises_baregrad(bg.ArgumentError, ValueError, "only p == 1 and p == 2",
                    lambda: F.multi_margin_loss(x, bg.Tensor([0, 1, 2]), p=3))
    raises_baregrad(bg.ShapeError, ValueError, r"var of shape \(3, 5\) for input of shape \(3, 4\)",
                    lambda: F.gaussian_nll_loss(x, x, bg.ones(3, 5)))
    raises_baregrad(bg.ArgumentError, ValueError, "var has negative entry",
                    lambda: F.gaussian_nll_loss(x, x, -bg.ones(3, 4)))


def test_ctc_errors():
    lp, targets = bg.zeros(4, 2, 3), bg.Tensor([[1, 2], [2, 2]])
    raises_baregrad(bg.ArgumentError, ValueError, "blank must be in label range",
                    lambda: F.ctc_loss(lp, targets, [4, 4], [2, 2], blank=3))
    raises_baregrad(bg.ShapeError, ValueError, "input_lengths must be of size batch_size",
                    lambda: F.ctc_loss(lp, targets, [4, 4, 4], [2, 2]))
    raises_baregrad(bg.ArgumentError, ValueError, "input_lengths to have value at most 4 .*got value 5",
                    lambda: F.ctc_loss(lp, targets, [5, 4], [2, 2]))
    raises_baregrad(bg.ShapeError, ValueError, r"targets of shape \(2, 2\) do not hold 2 targets of lengths up to 3",
                    lambda: F.ctc_loss(lp, targets, [4, 4], [3, 2]))
    raises_baregrad(bg.ShapeError, ValueError, r"exactly the sum of target_lengths \(5\).*\(4,\)",
                    lambda: F.ctc_loss(lp, bg.Tensor([1, 2, 1, 1]), [4, 4], [3, 2]))
    raises_baregrad(bg.ShapeError, ValueError, r"\(T, N, C\) or \(T, C\), got \(4,\)",
                    lambda: F.ctc_loss(bg.zeros(4), targets, [4], [2]))
    raises_baregrad(bg.DTypeError, TypeError, "float32 or float64",
                    lambda: F.ctc_loss(lp.half(), targets, [4, 4], [2, 2]))
