"""Knobs: README's table is config.KNOBS, every knob is read somewhere, and only config.py reads the environment."""
from __future__ import annotations

import ast
import pathlib
import re

from baregrad import config

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "baregrad"
PENDING: set[str] = set()  # files allowed to read os.environ themselves: none; keep it so


def _readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- knobs: begin -->\n(.*?)\n<!-- knobs: end -->", text, re.S)
    assert found, "README.md lost its knob table markers"
    return found.group(1)


def test_readme_knob_table_is_configs():
    assert _readme_table() == config.knob_table(), "regenerate README's table with `python -m baregrad.config`"


def test_readme_names_exactly_the_knobs():
    names = set(re.findall(r"^\| `([A-Z_0-9]+)` \|", _readme_table(), re.M))
    assert names == set(config.KNOB_NAMES)
    assert {"BAREGRAD_TF32", "BAREGRAD_NV_MOCK", "BEAM"} <= names


def _environment_reads(tree: ast.AST) -> list[int]:
    """Line numbers of os.environ / os.getenv uses."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv") and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(a.name in ("environ", "getenv") for a in node.names):
            lines.append(node.lineno)
    return lines


def test_only_config_reads_the_environment():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "config.py" or rel in PENDING:
            continue
        offenders += [f"baregrad/{rel}:{n}" for n in _environment_reads(ast.parse(path.read_text()))]
    assert offenders == [], "read knobs through baregrad.config: " + ", ".join(offenders)


def test_every_knob_is_read():
    """A documented knob that nothing reads is a bug: each name appears in a source file besides config's table."""
    sources = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "config.py")
    config_src = (PACKAGE / "config.py").read_text()
    accessor_body = config_src[config_src.index("DEBUG = getenv"):config_src.index("def knob_table")]
    for name in config.KNOB_NAMES:
        # read by an accessor in config.py, or (for the PENDING files) still by name elsewhere
        assert f'"{name}"' in accessor_body or name in sources, f"knob {name} is documented but nothing reads it"


def test_accessors_read_at_call_time(monkeypatch):
    monkeypatch.setenv("BAREGRAD_TF32", "1")
    monkeypatch.setenv("CC", "my-cc")
    monkeypatch.setenv("BAREGRAD_GPU_UNROLL", "not a number")
    assert config.allow_tf32() and config.c_compiler() == "my-cc" and config.gpu_unroll(4) == 4
    monkeypatch.setenv("BAREGRAD_GPU_UNROLL", "8")
    assert config.gpu_unroll(4) == 8
