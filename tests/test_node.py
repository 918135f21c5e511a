"""An expression node, compiled by mypyc or not (node.COMPILED: the constructor then sets its
slots itself), keeps what it was made with, is frozen, and hashes and compares by structure."""
from __future__ import annotations

from fractions import Fraction

import pytest

from jaccli import node
from jaccli.node import Expr


def test_a_node_keeps_what_it_was_made_with_and_is_frozen():
    x = Expr("var", (), "x", (3,), 7)
    e = Expr("neg", (x,), None, (3,), 2)
    assert (e.op, e.args, e.value, e.shape, e.column) == ("neg", (x,), None, (3,), 2)
    for name in ("op", "args", "value", "shape", "column", "_hash"):
        with pytest.raises(AttributeError):
            setattr(e, name, None)
    assert e.op == "neg" and e.args == (x,)


def test_nodes_hash_and_compare_by_structure_not_by_shape_or_column():
    def make(column):
        a, b = Expr("var", (), "a", None, column), Expr("num", (), Fraction(2), (), column)
        return Expr("add", (a, b, Expr("mul", (a, b))), None, (column,), column)
    assert make(1) == make(5) and hash(make(1)) == hash(make(5))
    assert make(1) != Expr("add", make(1).args[:2])
    assert hash(Expr("var", (), "x")) != hash(Expr("var", (), "y"))


def test_the_build_is_known():
    """COMPILED says which constructor runs: true exactly when node is an extension module."""
    assert node.COMPILED == (not node.__file__.endswith(".py"))
