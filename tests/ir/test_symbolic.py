"""Index algebra: normal forms, div/mod folding with ranges, and agreement with Python on sampled values."""
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from baregrad.ir import symbolic as sym
from baregrad.ir.node import Node
from baregrad.ir.ops import Op


def evaluate(node: Node, env: dict[str, int]) -> int:
    if node.op is Op.CONST:
        return int(node.arg)
    if node.op is Op.VAR:
        return env[node.arg[0]]
    a = [evaluate(s, env) for s in node.src]
    ops = {Op.ADD: lambda: a[0] + a[1], Op.MUL: lambda: a[0] * a[1], Op.IDIV: lambda: a[0] // a[1],
           Op.MOD: lambda: a[0] % a[1], Op.CMPLT: lambda: int(a[0] < a[1]), Op.AND: lambda: int(a[0] and a[1])}
    return ops[node.op]()


def test_constant_folding_and_like_terms():
    x = sym.var("x", 10)
    assert sym.add(3, 4) is sym.const(7)
    assert sym.add(sym.mul(x, 2), sym.mul(x, 3)) is sym.mul(x, 5)
    assert sym.add(sym.add(x, 1), -1) is x
    assert sym.mul(sym.add(x, 1), 0) is sym.const(0)


def test_div_mod_recombine():
    x = sym.var("x", 100)
    assert sym.add(sym.mul(sym.idiv(x, 4), 4), sym.mod(x, 4)) is x
    # with a common factor, as reshapes of strided views produce
    assert sym.add(sym.mul(sym.idiv(x, 4), 12), sym.mul(sym.mod(x, 4), 3)) is sym.mul(x, 3)


def test_range_based_folding():
    x, y = sym.var("x", 8), sym.var("y", 5)
    assert sym.idiv(x, 8) is sym.const(0)
    assert sym.mod(x, 8) is x
    assert sym.idiv(sym.add(sym.mul(y, 8), x), 8) is y
    assert sym.mod(sym.add(sym.mul(y, 8), x), 8) is x
    assert sym.lt(x, 8) is sym.TRUE
    assert sym.lt(x, 0) is sym.const(False, sym.BOOL)
    assert sym.vmin(sym.add(sym.mul(y, 8), x)) == 0 and sym.vmax(sym.add(sym.mul(y, 8), x)) == 39


def test_nested_div_mod():
    x = sym.var("x", 1000)
    assert sym.idiv(sym.idiv(x, 4), 5) is sym.idiv(x, 20)
    assert sym.mod(sym.mod(x, 12), 4) is sym.mod(x, 4)
    assert sym.idiv(sym.mod(x, 12), 4) is sym.mod(sym.idiv(x, 4), 3)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["add", "mul", "div", "mod"]), st.integers(1, 12)), min_size=1, max_size=6))
def test_simplified_expressions_keep_their_value(steps):
    x, y = sym.var("x", 7), sym.var("y", 13)
    expr, raw = sym.add(x, sym.mul(y, 7)), Node(Op.ADD, sym.INDEX, (x, Node(Op.MUL, sym.INDEX, (y, sym.const(7)))))
    for kind, c in steps:
        build = {"add": sym.add, "mul": sym.mul, "div": sym.idiv, "mod": sym.mod}[kind]
        op = {"add": Op.ADD, "mul": Op.MUL, "div": Op.IDIV, "mod": Op.MOD}[kind]
        expr, raw = build(expr, c), Node(op, sym.INDEX, (raw, sym.const(c)))
    for xv, yv in itertools.product(range(7), range(13)):
        env = {"x": xv, "y": yv}
        value = evaluate(raw, env)
        assert evaluate(expr, env) == value
        assert sym.vmin(expr) <= value <= sym.vmax(expr)


def test_common_factor_div_mod():
    """An index split into blocks of 16 (x = 16*a + b, 0 <= b < 16) divides like a, and keeps b as its remainder."""
    a, b = sym.var("a", 1 << 18), sym.var("b", 16)
    x = sym.add(sym.mul(a, 16), b)
    assert sym.idiv(x, 32768) is sym.idiv(a, 2048)
    assert sym.mod(x, 32768) is sym.add(sym.mul(sym.mod(a, 2048), 16), b)
    assert sym.idiv(sym.add(x, 3), 32) is not sym.idiv(a, 2)  # b + 3 may reach 16: not a multiple of 16 plus less


def test_linear_terms_of_a_deep_sum_need_no_recursion():
    """A 20,000-term index (deeper than Python's default recursion limit) splits into its terms, in order."""
    xs = [sym.var(f"x{i % 7}", 10) for i in range(20_000)]
    node = xs[0]
    for i, x in enumerate(xs[1:], 1):
        node = Node(Op.ADD, sym.INDEX, (node, Node(Op.MUL, sym.INDEX, (x, sym.const(2))) if i % 2 else x))
    node = Node(Op.ADD, sym.INDEX, (node, sym.const(5)))
    terms, constant = sym.linear_terms(node)
    assert constant == 5
    assert list(terms) == [sym.var(f"x{i}", 10) for i in range(7)]
    assert sum(terms.values()) == sum(2 if i % 2 else 1 for i in range(20_000))
