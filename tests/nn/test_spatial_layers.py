"""torch.nn parity for the spatial layers of baregrad.nn.functional.spatial and their modules: pixel and channel
shuffles, Fold/Unfold, InstanceNorm, LocalResponseNorm, adaptive 1-d/2-d/3-d pooling, the 3-d Conv/BatchNorm/pools,
padding layers, Upsample, grid_sample/affine_grid and Bilinear; forward and backward against torch, state_dict
names, and the errors."""
import numpy as np
import pytest
import torch

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import check, check_module, compare, raises_baregrad

RNG = np.random.default_rng(5)
TF = torch.nn.functional


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_pair(ours, theirs, x, device, **call):
    check_module(ours, theirs, x, device, RNG, **call)


def test_shuffles(device):
    run_pair(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), randn(2, 1, 8, 2, 3), device)
    run_pair(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), randn(3, 4, 6), device)
    run_pair(nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3), randn(2, 6, 2, 2), device)


@pytest.mark.parametrize("kw,unbatched", [({"kernel_size": (2, 3), "padding": 1, "stride": (2, 1)}, False),
                                          ({"kernel_size": 2, "dilation": 2}, True)])
def test_fold_unfold(device, kw, unbatched):
    lead = () if unbatched else (2,)
    run_pair(nn.Unfold(**kw), torch.nn.Unfold(**kw), randn(*lead, 3, 5, 6), device)
    blocks = torch.nn.Unfold(**kw)(torch.zeros(1, 1, 5, 6)).shape[-1]
    k = np.prod(kw["kernel_size"]) if isinstance(kw["kernel_size"], tuple) else kw["kernel_size"] ** 2
    run_pair(nn.Fold((5, 6), **kw), torch.nn.Fold((5, 6), **kw), randn(*lead, 2 * k, blocks), device)


@pytest.mark.parametrize("cls,kw,shape", [("InstanceNorm2d", {"affine": True, "track_running_stats": True,
                                                             "momentum": 0.3}, (2, 3, 3, 4)),
                                          ("InstanceNorm1d", {"affine": True}, (3, 5))])
def test_instance_norm(device, cls, kw, shape):
    torch.manual_seed(0)
    theirs, ours = getattr(torch.nn, cls)(3, **kw), getattr(nn, cls)(3, **kw)
    if kw.get("affine"):
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-0.5, 0.5)
    run_pair(ours, theirs, randn(*shape), device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, buf in theirs.named_buffers():
        compare(ours.get_buffer(name).numpy(), buf.numpy(), scale=10, what=name)
    if kw.get("track_running_stats"):
        ours.eval(), theirs.eval()
        run_pair(ours, theirs, randn(*shape), device)


def test_local_response_norm(device):
    run_pair(nn.LocalResponseNorm(4, 0.1, 0.6, 2.0), torch.nn.LocalResponseNorm(4, 0.1, 0.6, 2.0),
             randn(1, 5, 3, 2), device)


def test_adaptive_pools(device):
    run_pair(nn.AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3), randn(2, 3, 7), device)
    run_pair(nn.AdaptiveAvgPool3d((2, None, 3)), torch.nn.AdaptiveAvgPool3d((2, None, 3)), randn(2, 3, 2, 5), device)
    run_pair(nn.AdaptiveMaxPool3d(2), torch.nn.AdaptiveMaxPool3d(2), randn(1, 2, 3, 4, 5), device)


def test_adaptive_max_pool_indices(device):
    """The flat h * W + w index of each bin's first maximum (a tie broken as torch breaks it), and its gradient."""
    x = np.round(randn(2, 2, 5, 7), 0)  # few distinct values: ties within a bin
    check(lambda x: F.adaptive_max_pool2d(x, (3, None), True)[0],
          lambda x: TF.adaptive_max_pool2d(x, (3, None), True)[0], [x], device)
    got = F.adaptive_max_pool2d(bg.Tensor(x, device=device), (2, 3), return_indices=True)[1]
    compare(got.numpy(), TF.adaptive_max_pool2d(torch.tensor(x), (2, 3), return_indices=True)[1].numpy())
    got = nn.AdaptiveMaxPool1d(3, return_indices=True)(bg.Tensor(x[0], device=device))[1]
    compare(got.numpy(), torch.nn.AdaptiveMaxPool1d(3, return_indices=True)(torch.tensor(x[0]))[1].numpy())


def test_conv3d(device):
    torch.manual_seed(0)
    kw = {"kernel_size": (1, 2, 3), "padding": 1, "stride": (1, 2, 1), "dilation": (1, 1, 2), "groups": 2}
    run_pair(nn.Conv3d(4, 2, **kw), torch.nn.Conv3d(4, 2, **kw), randn(2, 4, 3, 4, 5), device)


def test_batch_norm3d(device):
    torch.manual_seed(0)
    ours, theirs = nn.BatchNorm3d(2), torch.nn.BatchNorm3d(2)
    run_pair(ours, theirs, randn(2, 2, 2, 3, 2), device)
    compare(ours.running_var.numpy(), theirs.running_var.numpy(), what="running_var")


def test_max_pool3d(device):
    kw = {"kernel_size": (2, 3, 2), "stride": (1, 2, 2), "padding": 1, "dilation": (1, 1, 2), "ceil_mode": True}
    x = randn(1, 2, 3, 4, 5)
    run_pair(nn.MaxPool3d(**kw), torch.nn.MaxPool3d(**kw), x, device)
    got = F.max_pool3d(bg.Tensor(x, device=device), return_indices=True, **kw)[1]
    compare(got.numpy(), TF.max_pool3d(torch.tensor(x), return_indices=True, **kw)[1].numpy())


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                 "count_include_pad": False},
                                {"kernel_size": (2, 3, 2), "ceil_mode": True}])
def test_avg_pool3d(device, kw):
    run_pair(nn.AvgPool3d(**kw), torch.nn.AvgPool3d(**kw), randn(2, 4, 5, 5), device)


PADS = [("ZeroPad2d", (1, 0, -1, 2), (1, 2, 3, 3)), ("ConstantPad3d", (1, 0, 0, 1, 2, 1), (2, 2, 2, 2)),
        ("ReflectionPad1d", 2, (2, 3, 4)), ("ReflectionPad2d", (1, 2, 0, 1), (1, 2, 3, 3)),
        ("ReplicationPad3d", (1, 0, 0, 1, 1, 1), (1, 1, 2, 2, 3)), ("CircularPad2d", (3, 1, 2, 0), (1, 2, 3, 3))]


def test_padding_layers(device):
    for name, padding, shape in PADS:
        args = (padding, 0.5) if name.startswith("Constant") else (padding,)
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert ours.padding == theirs.padding, name
        run_pair(ours, theirs, randn(*shape), device)


@pytest.mark.parametrize("make", [lambda lib: lib.UpsamplingNearest2d(scale_factor=2),
                                  lambda lib: lib.Upsample(scale_factor=1.7, mode="bilinear",
                                                           recompute_scale_factor=True),
                                  lambda lib: lib.UpsamplingBilinear2d(size=(5, 6))])
def test_upsample(device, make):
    run_pair(make(nn), make(torch.nn), randn(2, 2, 3, 4), device)


@pytest.mark.filterwarnings("ignore:.*is deprecated")
def test_upsample_functional(device):
    check(lambda x: F.upsample_bilinear(x, scale_factor=2), lambda x: TF.upsample_bilinear(x, scale_factor=2),
          [randn(1, 2, 3, 3)], device)


@pytest.mark.parametrize("mode,padding_mode,align_corners", [("bilinear", "zeros", False),
                                                             ("bilinear", "reflection", True),
                                                             ("nearest", "border", False)])
def test_grid_sample(device, mode, padding_mode, align_corners):
    grid = RNG.uniform(-1.4, 1.4, (2, 3, 4, 2)).astype(np.float32)
    check(lambda x, g: F.grid_sample(x, g, mode, padding_mode, align_corners),
          lambda x, g: TF.grid_sample(x, g, mode, padding_mode, align_corners), [randn(2, 3, 4, 5), grid], device)


def test_affine_grid(device):
    check(lambda t: F.affine_grid(t, (2, 3, 4, 5), False),
          lambda t: TF.affine_grid(t, (2, 3, 4, 5), False), [randn(2, 2, 3)], device)
    check(lambda t: F.affine_grid(t, (1, 2, 2, 3, 4), True),
          lambda t: TF.affine_grid(t, (1, 2, 2, 3, 4), True), [randn(1, 3, 4)], device)


def test_bilinear(device):
    torch.manual_seed(0)
    ours, theirs = nn.Bilinear(4, 5, 3), torch.nn.Bilinear(4, 5, 3)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    x1, x2 = randn(2, 3, 4), randn(2, 3, 5)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    b1, b2 = bg.Tensor(x1, device=device, requires_grad=True), bg.Tensor(x2, device=device, requires_grad=True)
    expected, actual = theirs(t1, t2), ours(b1, b2)
    compare(actual.numpy(), expected.detach().numpy(), scale=10, what="forward")
    w = randn(*expected.shape)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    compare(b1.grad.numpy(), t1.grad.numpy(), scale=100, what="grad of input1")
    compare(b2.grad.numpy(), t2.grad.numpy(), scale=100, what="grad of input2")
    for name, p in theirs.named_parameters():
        compare(ours.get_parameter(name).grad.numpy(), p.grad.numpy(), scale=100, what=f"grad of {name}")


def test_state_dict_names_and_init():
    """Keys equal torch's, shapes too, and a torch state_dict loads; default init draws from torch's bounds."""
    pairs = [(nn.Conv3d(2, 4, 3, groups=2), torch.nn.Conv3d(2, 4, 3, groups=2)),
             (nn.BatchNorm3d(3), torch.nn.BatchNorm3d(3)),
             (nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
              torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)),
             (nn.InstanceNorm3d(3), torch.nn.InstanceNorm3d(3)), (nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)),
             (nn.Bilinear(3, 4, 5, bias=False), torch.nn.Bilinear(3, 4, 5, bias=False)),
             (nn.InstanceNorm1d(3, affine=True, bias=False), torch.nn.InstanceNorm1d(3, affine=True, bias=False)),
             (nn.BatchNorm3d(3, bias=False), torch.nn.BatchNorm3d(3, bias=False))]
    for ours, theirs in pairs:
        theirs_sd = theirs.state_dict()
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs_sd.items()}
        ours.load_state_dict(theirs_sd)
    weight = nn.Bilinear(16, 2, 8).weight.numpy()
    assert np.abs(weight).max() <= 0.25 and np.abs(weight).max() > 0.2
    assert repr(nn.Upsample(scale_factor=2)) == repr(torch.nn.Upsample(scale_factor=2))
    assert repr(nn.ReflectionPad2d(1)) == repr(torch.nn.ReflectionPad2d(1))
    assert repr(nn.InstanceNorm2d(3, affine=True)) == repr(torch.nn.InstanceNorm2d(3, affine=True))


def test_errors():
    x = bg.Tensor(randn(1, 6, 4, 4))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: F.pixel_shuffle(x, 2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: F.pixel_unshuffle(x, 3))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: F.channel_shuffle(x, 4))
    raises_baregrad(bg.ArgumentError, ValueError, "upscale_factor", lambda: F.pixel_shuffle(x, 0))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 8, 5\).*2 \* 2", lambda: F.fold(bg.Tensor(randn(1, 8, 5)), 3, 2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4\)", lambda: F.fold(bg.Tensor(randn(1, 6, 4)), 3, 2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(4, 4\)", lambda: F.unfold(bg.Tensor(randn(4, 4)), 2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: F.adaptive_max_pool1d(x, 2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6\)", lambda: F.local_response_norm(bg.Tensor(randn(1, 6)), 2))
    raises_baregrad(bg.ShapeError, ValueError, r"spatial.*\(2, 3, 1\)",
                    lambda: F.instance_norm(bg.Tensor(randn(2, 3, 1))))
    raises_baregrad(bg.ShapeError, ValueError, r"num_features \(3\).*\(2, 4, 5\)",
                    lambda: nn.InstanceNorm1d(3, affine=True)(bg.Tensor(randn(2, 4, 5))))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: nn.InstanceNorm1d(6)(x))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: nn.ReflectionPad1d(1)(x))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\)", lambda: nn.CircularPad2d(5)(x))
    raises_baregrad(bg.ShapeError, ValueError, r"\(1, 6, 4, 4\) and \(2, 3, 3, 2\)",
                    lambda: F.grid_sample(x, bg.Tensor(randn(2, 3, 3, 2))))
    raises_baregrad(bg.ArgumentError, ValueError, "bicubic", lambda: F.grid_sample(x, x, mode="bicubic"))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 2, 3\).*\(1, 2, 3\)",
                    lambda: F.affine_grid(bg.Tensor(randn(1, 2, 3)), (2, 1, 4, 4)))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 4\) and \(2, 5\).*\(3, 4, 6\)",
                    lambda: F.bilinear(bg.Tensor(randn(2, 4)), bg.Tensor(randn(2, 5)), bg.Tensor(randn(3, 4, 6))))
    raises_baregrad(bg.ShapeError, ValueError, r"\(6, 4\)", lambda: F.max_pool3d(bg.Tensor(randn(6, 4)), 2))
    raises_baregrad(bg.ArgumentError, ValueError, "half of effective kernel", lambda: F.avg_pool3d(x, 2, padding=2))
