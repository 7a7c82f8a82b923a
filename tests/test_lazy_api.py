"""`bg.nn`, `bg.optim`, `bg.onnx`, `bg.nn.state` work after `import baregrad`, and the import does not load them."""
from __future__ import annotations

import subprocess
import sys

import pytest

import baregrad as bg

SCRIPT = """
import sys
import baregrad as bg
heavy = [m for m in ("baregrad.nn", "baregrad.optim", "baregrad.onnx", "baregrad.engine.realize", "baregrad.codegen",
                     "baregrad.device.cpu") if m in sys.modules]
print(heavy)
"""


def test_import_baregrad_loads_no_subpackage():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["nn", "optim", "onnx", "models"])
def test_subpackage_is_an_attribute(name):
    import importlib
    assert getattr(bg, name) is importlib.import_module(f"baregrad.{name}")


def test_torch_first_lines():
    layer = bg.nn.Linear(3, 2)
    opt = bg.optim.SGD(layer.parameters(), lr=0.1)
    assert isinstance(layer.weight, bg.Tensor) and opt.param_groups[0]["lr"] == 0.1
    assert bg.nn.state.safe_load is not None and bg.nn.functional.relu is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bg.nope  # noqa: B018 - the access is the test
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bg.nn.nope  # noqa: B018
