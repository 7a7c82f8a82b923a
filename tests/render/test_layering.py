"""Renderers are pure functions of the linear program (and its plan): render/ imports ir (and dtype), never codegen
or anything above it; codegen imports ir, never render or above (DESIGN.md: ir < codegen < render < device)."""
from __future__ import annotations

import ast
import os

import baregrad

ROOT = os.path.dirname(baregrad.__file__)
FORBIDDEN = {"render": {"codegen", "device", "engine", "tensor", "nn", "models", "onnx"},
             "codegen": {"render", "device", "engine", "tensor", "nn", "models", "onnx"},
             "ir": {"codegen", "render", "device", "engine", "tensor", "nn", "models", "onnx"}}


def _imports(path: str) -> list[str]:
    with open(path) as f:
        tree = ast.parse(f.read())
    out = []
    for node in ast.walk(tree):  # function-level (lazy) imports count too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "baregrad"
                                    else [])
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_layers_import_downward_only() -> None:
    bad = []
    for package, forbidden in FORBIDDEN.items():
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                for module in _imports(path):
                    parts = module.split(".")
                    if parts[0] == "baregrad" and len(parts) > 1 and parts[1] in forbidden:
                        bad.append(f"{os.path.relpath(path, ROOT)} imports {module}")
    assert not bad, "\n".join(bad)
