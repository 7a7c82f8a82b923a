"""The package's shape, checked from its source with `ast`: layers import downward only, top-level packages form no
cycle, no module imports another module's private (`_name`) names, and modules above the engine use only the names
each engine module lists in `__all__` (its public surface: realize, replay, the JIT's capture; not the scheduler).

Layers, low to high (a module may import from its own layer or a lower one; imports under `if TYPE_CHECKING:` are
annotations, not dependencies, and are skipped; imports inside functions count):
  base (incl. profile/) < ir < codegen < render < device < engine < tensor API < nn/optim/onnx/models/distributed
  < cli/serve
"""
from __future__ import annotations

import ast
import functools
import pathlib
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "baregrad"

LAYERS: list[set[str]] = [
    # profile/ is instrumentation the engine calls (records, memory counts, progress): a base layer, like stats
    {"errors", "config", "dtype", "stats", "lazy", "profile"},
    {"ir"},
    {"codegen"},
    {"render"},
    {"device"},
    {"engine"},
    # the tensor API: Tensor's core, its op mixins, autograd rules, and the tensor-level helpers around them
    {"tensor", "autograd", "tensor_ops", "indexing", "random", "host_data",
     "tensor_jit"},
    {"nn", "optim", "onnx", "models", "distributed"},
    {"cli", "serve", "__main__", "__init__"},  # __init__: the public facade, which loads subpackages on first use
]
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}

# The tensor API is one unit for the cycle check: Tensor inherits its op mixins (tensor_ops/) and they build
# Tensors, so the two refer to each other by design, as one package would.
CYCLE_UNIT = {unit: "tensor API" for unit in LAYERS[6]}

# Upward edges still in the code, each with the issue item that removes it: none now; keep it so.
ALLOWED_UPWARD: set[tuple[str, str]] = set()

# Private names that still cross modules, each with its owner. Keep this short; never add to it.
ALLOWED_PRIVATE: set[tuple[str, str]] = set()  # none; keep it so


def module_name(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The top-level package or module of `baregrad.x.y` (x), or __init__ for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@functools.cache
def parsed(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text())


def runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement except those inside `if TYPE_CHECKING:` blocks. Walks statements only (imports are
    statements), with an explicit stack."""
    found, stack = [], list(getattr(tree, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            stack.extend(getattr(node, name, None) or [])
    return found


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[tuple[str, int]]:
    """(imported baregrad module, line) for each runtime import; `from baregrad import x` names module x."""
    me = module_name(path, root)
    out = []
    for node in runtime_imports(parsed(path)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "baregrad"]
            continue
        source = absolute(node, me, path.name == "__init__.py")
        if source.split(".")[0] != "baregrad":
            continue
        for a in node.names:
            sub = f"{source}.{a.name}"
            is_module = (root / pathlib.Path(*sub.split(".")).with_suffix(".py")).exists() or \
                (root / pathlib.Path(*sub.split("."))).is_dir()
            out.append((sub if is_module else source, node.lineno))
    return out


@functools.cache
def unit_edges(root: pathlib.Path = ROOT) -> Counter:
    edges: Counter = Counter()
    for path in (root / "baregrad").rglob("*.py"):
        src = unit_of(module_name(path, root))
        for target, _ in imported_modules(path, root):
            dst = unit_of(target)
            if dst != src:
                edges[(src, dst)] += 1
    return edges


def test_every_top_level_unit_has_a_layer():
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units - set(LAYER_OF) == set(), "give each new top-level module or package a layer in LAYERS"


def test_layers_import_downward_only():
    upward = sorted(f"{a} -> {b} ({n} imports)" for (a, b), n in unit_edges().items()
                    if LAYER_OF[b] > LAYER_OF[a] and (a, b) not in ALLOWED_UPWARD)
    assert upward == [], "upward imports: " + "; ".join(upward)


def test_no_cycles_between_top_level_packages():
    graph: dict[str, set[str]] = {}
    for a, b in unit_edges():
        a, b = CYCLE_UNIT.get(a, a), CYCLE_UNIT.get(b, b)
        if a != b and (a, b) not in ALLOWED_UPWARD:
            graph.setdefault(a, set()).add(b)
    cycles = []
    for start in graph:  # a path back to `start` is a cycle; explicit stack, no recursion
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert cycles == []


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_crossings(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[tuple[str, str, int]]:
    """(this module, the other module's private name, line): `from m import _x` and `m._x` on an imported module."""
    me, tree = module_name(path, root), parsed(path)
    found, aliases = [], {}
    for node in runtime_imports(tree):
        if isinstance(node, ast.ImportFrom):
            source = absolute(node, me, path.name == "__init__.py")
            if source.split(".")[0] != "baregrad":
                continue
            for a in node.names:
                if source != me and _is_private(a.name):
                    found.append((me, f"{source}.{a.name}", node.lineno))
                aliases[a.asname or a.name] = f"{source}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "baregrad":
                    aliases[a.asname or "baregrad"] = a.name if a.asname else "baregrad"
    text = path.read_text()
    if not any(f"{alias}._" in text for alias in aliases):  # the full expression walk only where it can find one
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr) and isinstance(node.value, ast.Name):
            target = aliases.get(node.value.id)
            if target is not None and target != me:
                found.append((me, f"{target}.{node.attr}", node.lineno))
    return found


def test_no_module_imports_another_modules_private_names():
    crossings = sorted({(me, name) for p in PACKAGE.rglob("*.py") for me, name, _ in private_crossings(p)})
    unexpected = [f"{me} uses {name}" for me, name in crossings if (me, name) not in ALLOWED_PRIVATE]
    assert unexpected == [], "make the name public or move the code: " + "; ".join(unexpected)


@functools.cache
def engine_public_names(root: pathlib.Path = ROOT) -> dict[str, frozenset[str] | None]:
    """baregrad.engine.X -> the names X lists in its module-level `__all__` (None: it has none)."""
    public: dict[str, frozenset[str] | None] = {}
    for path in (root / "baregrad" / "engine").rglob("*.py"):
        names = None
        for node in parsed(path).body:
            target = node.target if isinstance(node, ast.AnnAssign) else \
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            if isinstance(target, ast.Name) and target.id == "__all__" and node.value is not None:
                names = frozenset(ast.literal_eval(node.value))
        public[module_name(path, root)] = names
    return public


def engine_names_used(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[tuple[str, str, int]]:
    """(engine module, name, line) for each name this module takes from the engine: `from baregrad.engine.m import
    name`, and `alias.name` where alias is an engine module imported whole (`from baregrad.engine import m`)."""
    me, engine_modules = module_name(path, root), engine_public_names(root)
    found, aliases = [], {}
    for node in runtime_imports(parsed(path)):
        if isinstance(node, ast.ImportFrom):
            source = absolute(node, me, path.name == "__init__.py")
            if source != "baregrad.engine" and not source.startswith("baregrad.engine."):
                continue
            for a in node.names:
                if f"{source}.{a.name}" in engine_modules:  # a module imported whole: its attributes are the names
                    aliases[a.asname or a.name] = f"{source}.{a.name}"
                else:
                    found.append((source, a.name, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in engine_modules:
                    aliases[a.asname or a.name] = a.name
    if aliases:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Attribute):
                target = aliases.get(ast.unparse(node.value))
                if target is not None:
                    found.append((target, node.attr, node.lineno))
    return found


def engine_reaches(root: pathlib.Path = ROOT) -> list[str]:
    """Every use of an engine name that its module does not list in `__all__`, from outside the engine."""
    public, bad = engine_public_names(root), []
    for path in (root / "baregrad").rglob("*.py"):
        if module_name(path, root).startswith("baregrad.engine"):
            continue
        for module, name, line in engine_names_used(path, root):
            if name not in (public.get(module) or ()):
                bad.append(f"{path.relative_to(root)}:{line} uses {module}.{name}")
    return sorted(bad)


def test_every_engine_module_declares_its_public_names():
    missing = [m for m, names in engine_public_names().items() if names is None and m != "baregrad.engine"]
    assert missing == [], "give each engine module an __all__ (its names the layers above may use): " + \
        ", ".join(missing)


def test_modules_above_the_engine_use_only_its_public_names():
    reaches = engine_reaches()
    assert reaches == [], "use engine.realize / engine.replay (or add the name to its module's __all__ if it is " \
        "meant to be public): " + "; ".join(reaches)


def test_the_checks_see_a_violation(tmp_path):
    """The walkers are not vacuous: they find an upward import and a private import in a sample package."""
    (tmp_path / "baregrad" / "ir").mkdir(parents=True)
    (tmp_path / "baregrad" / "nn").mkdir()
    (tmp_path / "baregrad" / "tensor.py").write_text("")
    sample = tmp_path / "baregrad" / "ir" / "sample.py"
    sample.write_text("from baregrad.tensor import _private_thing\nimport baregrad.ir.node as node\n\n\n"
                      "def f():\n    import baregrad.nn\n    return node._hidden\n")
    assert sorted(imported_modules(sample, tmp_path), key=lambda m: m[1]) == \
        [("baregrad.tensor", 1), ("baregrad.ir.node", 2), ("baregrad.nn", 6)]
    assert sorted(private_crossings(sample, tmp_path)) == [
        ("baregrad.ir.sample", "baregrad.ir.node._hidden", 7),
        ("baregrad.ir.sample", "baregrad.tensor._private_thing", 1)]
    assert unit_edges(tmp_path) == Counter({("ir", "tensor"): 1, ("ir", "nn"): 1})


def test_the_engine_check_sees_a_reach_into_internals(tmp_path):
    """A model that takes the scheduler's names, or a public module's unlisted name, is reported; listed names and
    whole-module imports used by their public names are not."""
    engine, models = tmp_path / "baregrad" / "engine", tmp_path / "baregrad" / "models"
    engine.mkdir(parents=True)
    models.mkdir()
    (engine / "__init__.py").write_text("")
    (engine / "schedule.py").write_text("__all__: list[str] = []\n")
    (engine / "realize.py").write_text('__all__ = ["realize"]\n')
    (models / "sample.py").write_text(
        "from baregrad.engine import realize\nfrom baregrad.engine.schedule import build_schedule\n"
        "import baregrad.engine.realize as r\n\n\ndef f():\n    realize.realize([])\n    return r.run_schedule\n")
    assert engine_reaches(tmp_path) == ["baregrad/models/sample.py:2 uses baregrad.engine.schedule.build_schedule",
                                        "baregrad/models/sample.py:8 uses baregrad.engine.realize.run_schedule"]
