"""The pattern matcher and graph rewriter, and hash-consing of nodes."""
from baregrad import dtype as dt
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.ir.rewrite import Pat, PatternMatcher, const_pat, graph_rewrite


def c(v):
    return Node(Op.CONST, dt.float32, (), float(v))


def test_nodes_are_hash_consed():
    a = Node(Op.ADD, dt.float32, (c(1), c(2)))
    assert a is Node(Op.ADD, dt.float32, (c(1), c(2)))
    assert Node(Op.CONST, dt.float32, (), 0.0) is not Node(Op.CONST, dt.float32, (), -0.0)


def test_rewrite_to_fixed_point_bottom_up():
    x = Node(Op.VAR, dt.float32, (), ("x", 4))
    # x*1 -> x and x+0 -> x, applied wherever they appear, until nothing matches
    pm = PatternMatcher([
        (Pat(Op.MUL, (Pat(name="x"), const_pat(value=1.0)), commutative=True), lambda x: x),
        (Pat(Op.ADD, (Pat(name="x"), const_pat(value=0.0)), commutative=True), lambda x: x),
    ])
    expr = Node(Op.ADD, dt.float32, (c(0), Node(Op.MUL, dt.float32, (Node(Op.MUL, dt.float32, (x, c(1))), c(1)))))
    assert graph_rewrite(expr, pm) is x


def test_named_patterns_must_bind_the_same_node():
    x, y = Node(Op.CONST, dt.int32, (), 1), Node(Op.CONST, dt.int32, (), 2)
    pm = PatternMatcher([(Pat(Op.SUB, (Pat(name="a"), Pat(name="a"))), lambda a: Node(Op.CONST, dt.int32, (), 0))])
    assert graph_rewrite(Node(Op.SUB, dt.int32, (x, x)), pm) is Node(Op.CONST, dt.int32, (), 0)
    same = Node(Op.SUB, dt.int32, (x, y))
    assert graph_rewrite(same, pm) is same
