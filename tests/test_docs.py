"""docs/architecture.md stays true: its example backend runs and matches numpy, its op example matches torch
forward and backward, and every path it names exists."""
from __future__ import annotations

import importlib.util
import pathlib
import re
import sys

import numpy as np
import pytest

import baregrad as bg
from baregrad import device as devices

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


@pytest.fixture
def bytes_device(monkeypatch):
    spec = importlib.util.spec_from_file_location("bytes_backend", ROOT / "docs" / "examples" / "bytes_backend.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bytes_backend", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(devices, "BACKENDS", dict(devices.BACKENDS))  # registered for this test only
    module.register()
    yield "BYTES"
    devices._OPEN.pop("BYTES", None)


def test_example_backend_runs_and_matches_numpy(bytes_device):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    x = bg.tensor(a, device=bytes_device, requires_grad=True)
    loss = (x @ bg.tensor(b, device=bytes_device)).relu().sum()
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.maximum(a @ b, 0).sum(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), (a @ b > 0).astype(np.float32) @ b.T, rtol=1e-5, atol=1e-6)
    y = bg.tensor(a, device=bytes_device)
    y.assign(y * 2 + 1)  # a kernel that reads and writes one buffer
    np.testing.assert_allclose(y.numpy(), a * 2 + 1, rtol=1e-6)
    status = {d.name: d for d in bg.devices()}[bytes_device]
    assert status.works and devices.probe(bytes_device) is None


def test_op_example_matches_torch():
    torch = pytest.importorskip("torch")
    code = re.search(r"<!-- op example: begin -->\n```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the documentation's own example
    values = np.random.default_rng(1).standard_normal((3, 7)).astype(np.float32)
    ours, theirs = bg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out = namespace["softsign"](ours)
    out.sum().backward()
    torch.nn.functional.softsign(theirs).sum().backward()
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.softsign(theirs).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_every_path_the_doc_names_exists():
    paths = set(re.findall(r"`((?:baregrad|tests|docs)/[\w/.]*)`", DOC.read_text()))
    assert paths, "the doc names no paths: the pattern broke"
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"
