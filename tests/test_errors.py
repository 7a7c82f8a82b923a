"""Bad input raises baregrad exceptions at the call site, naming the shapes and dtypes; each exception is both a
baregrad.Error and the builtin a Python user would catch. A failed C compile names the compiler log and source."""
import os
import stat
import subprocess
import sys

import pytest

import baregrad as bg
from baregrad.ir.launch import Kernel
from tests.helpers import raises_baregrad


def test_shape_errors(device):
    a, b = bg.zeros(2, 3, device=device), bg.zeros(4, 5, device=device)
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\).*\(4, 5\)", lambda: a + b)
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\) @ \(4, 5\)", lambda: a @ b)
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\).*\(4,\)", lambda: a.reshape(4))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\).*\(4, 5\)", lambda: a.expand(4, 5))
    raises_baregrad(bg.ShapeError, ValueError, r"dimension 2 .*\(2, 3\)", lambda: a.sum(2))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\)", lambda: a.permute(0, 0))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\).*\(4, 5\)", lambda: bg.cat([a, b], 0))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\).*\(4, 5\)", lambda: bg.stack([a, b]))
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\)", lambda: a.item())
    raises_baregrad(bg.ShapeError, ValueError, r"\(2, 3\)", lambda: bool(a))
    raises_baregrad(bg.ShapeError, ValueError, r"ragged", lambda: bg.tensor([[1, 2], [3]], device=device))
    raises_baregrad(bg.ShapeError, ValueError, r"negative", lambda: bg.zeros(2, -1, device=device))
    raises_baregrad(bg.ShapeError, ValueError, r"\[2, 2\].*3", lambda: a.split([2, 2], 1))


def test_index_errors(device):
    a = bg.zeros(2, 3, device=device)
    raises_baregrad(bg.BoundsError, IndexError, r"index 5 .* dimension 1 with size 3", lambda: a[0, 5])
    raises_baregrad(bg.BoundsError, IndexError, r"index -3 .* size 2", lambda: a[-3])
    raises_baregrad(bg.BoundsError, IndexError, r"too many indices .*\(2, 3\)", lambda: a[0, 0, 0])
    raises_baregrad(bg.DTypeError, TypeError, r"float32", lambda: a[bg.tensor([0.5], device=device)])


def test_dtype_errors(device):
    f, i = bg.zeros(3, device=device), bg.zeros(3, dtype=bg.int32, device=device)
    raises_baregrad(bg.DTypeError, TypeError, r"float32", lambda: f & i)
    raises_baregrad(bg.DTypeError, TypeError, r"float32", lambda: ~f)
    raises_baregrad(bg.DTypeError, TypeError, r"bool", lambda: -bg.tensor([True], device=device))
    raises_baregrad(bg.DTypeError, TypeError, r"int32", lambda: i.requires_grad_())
    raises_baregrad(bg.DTypeError, TypeError, r"float32 to int16", lambda: f.bitcast(bg.int16))
    raises_baregrad(bg.DTypeError, TypeError, r"'complex64'", lambda: bg.zeros(2, dtype="complex64", device=device))
    raises_baregrad(bg.DTypeError, TypeError, r"str", lambda: f + "x")


def test_device_errors(device):
    raises_baregrad(bg.DeviceError, RuntimeError, r"'TPU'.*known devices", lambda: bg.zeros(2, device="TPU"))
    others = [s.name for s in bg.devices() if s.works and s.name != device]
    if others:
        a, b = bg.zeros(2, device=device), bg.zeros(2, device=others[0])
        raises_baregrad(bg.DeviceError, RuntimeError, f"{device}.*{others[0]}", lambda: a + b)


def test_argument_errors(device):
    a = bg.zeros(2, 3, device=device)
    raises_baregrad(bg.ArgumentError, ValueError, r"clamp", lambda: a.clamp())
    raises_baregrad(bg.ArgumentError, ValueError, r"rounding_mode", lambda: a.div(2, rounding_mode="up"))
    raises_baregrad(bg.ArgumentError, ValueError, r"step", lambda: bg.arange(0, 3, 0, device=device))
    raises_baregrad(bg.ArgumentError, ValueError, r"\[3, 3\)", lambda: bg.randint(3, 3, (2,), device=device))
    raises_baregrad(bg.ArgumentError, ValueError, r"requires grad|grad_fn", lambda: a.sum().backward())
    leaf = bg.zeros(2, device=device, requires_grad=True)

    def inplace():
        leaf.add_(1)
    raises_baregrad(bg.ArgumentError, ValueError, r"leaf", inplace)


def test_errors_raise_at_call_site_not_at_realize(device):
    """The error comes from the line that built the bad op, before anything is computed."""
    a, b = bg.zeros(2, 3, device=device), bg.zeros(3, 2, device=device)
    bg.counters(reset=True)
    with pytest.raises(bg.ShapeError):
        (a * 2) + b
    assert bg.counters()["kernels"] == 0


def _fake_cc(tmp_path) -> str:
    """A 'compiler' that answers --version and fails every compile with a message on stderr."""
    path = tmp_path / "badcc"
    path.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo badcc 1.0; exit 0; fi\n"
                    "echo 'badcc: error: no such luck' >&2\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_compile_error_names_log_and_source(tmp_path):
    """A failed C compile raises CompileError with the compiler's message and the source path (fresh process:
    CC is read when the CPU device opens; a private cache so nothing cached is reused)."""
    if not any(s.name == "CPU" and s.works for s in bg.devices()):
        pytest.skip("no CPU device here")
    code = ("import baregrad as bg\n"
            "try:\n"
            "    (bg.arange(7, device='CPU') * 3 + 1).realize()\n"
            "except bg.CompileError as e:\n"
            "    assert isinstance(e, bg.Error) and isinstance(e, RuntimeError)\n"
            "    print('CAUGHT', e)\n")
    env = dict(os.environ, CC=_fake_cc(tmp_path), BAREGRAD_CACHE=str(tmp_path / "cache"), BAREGRAD_DEVICE="CPU")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "CAUGHT" in out.stdout, out.stdout + out.stderr
    assert "no such luck" in out.stdout
    assert str(tmp_path / "cache") in out.stdout and ".c" in out.stdout


def test_compile_error_in_process(tmp_path, monkeypatch):
    """The same through a CPUDevice built with the bad compiler, without a subprocess."""
    if not any(s.name == "CPU" and s.works for s in bg.devices()):
        pytest.skip("no CPU device here")
    from baregrad.device.cpu import CPUDevice
    monkeypatch.setenv("CC", _fake_cc(tmp_path))
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path / "cache"))
    device = CPUDevice()
    with pytest.raises(bg.CompileError, match="no such luck") as info:
        device.compile(Kernel("int f(void) { return 1; }\n"), None)
    assert str(tmp_path / "cache") in str(info.value)
