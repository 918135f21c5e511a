"""What the parser notes while it reads (syntax.parse_noting) is what the tree says: the
variables in Expr.variables' order, whether shape rule 1 has an operation to start from; and
a text too short to nest past MAX_DEPTH, whose depth walk is skipped, indeed cannot."""
from __future__ import annotations

import random

import pytest

from jaccli import shapes, syntax
from jaccli.errors import JacError

NAMES = ["x", "y", "W", "b1", "z"]
NUMBERS = ["2", ".5", "3e-1"]
OPERATORS = [" + ", " - ", "*", "/", " @ ", "·", "⊙", "^"]
FUNCTIONS = ["sin", "sum", "norm", "softmax", "diag", "vec", "exp", "mean", "relu"]


def _expression(rng: random.Random, depth: int) -> str:
    """A random expression of jac's language (not always well shaped)."""
    pick = rng.randrange(9 if depth else 2)
    if pick == 0:
        return rng.choice(NAMES)
    if pick == 1:
        return rng.choice(NUMBERS + NAMES)
    sub = lambda: _expression(rng, depth - 1)   # noqa: E731
    if pick in (2, 3):
        return sub() + rng.choice(OPERATORS) + sub()
    if pick == 4:
        return f"{rng.choice(FUNCTIONS)}({sub()})"
    if pick == 5:
        return rng.choice(["max", "min", "dot", "kron"]) + f"({sub()}, {sub()})"
    if pick == 6:
        return f"[{sub()}, {sub()}]"
    if pick == 7:
        return f"({sub()})" + rng.choice(["'", "ᵀ", ""])
    return "-" + sub()


def _has_shaping(tree) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.op in shapes.SHAPING:
            return True
        stack.extend(node.args)
    return False


def _texts():
    rng = random.Random(7)
    fixed = ["x", "sin(u) * x", "max(0, W@x + b)", "x' @ A @ x", "[x, y] * z", "sum(x) + y",
             "dot(x, y) - 2^x", "x·y + [[a, b], [c, d]]", "kron(A, B) + vec(C)'"]
    return fixed + [_expression(rng, rng.randint(1, 4)) for _ in range(3000)]


def test_the_noted_facts_are_the_trees():
    compared = 0
    for text in _texts():
        try:
            tree, given, names, shaping = syntax.parse_noting(text)
        except JacError:
            continue
        assert names is not None and shaping is not None, text
        assert names == tree.variables(), text
        assert shaping == _has_shaping(tree), text
        compared += 1
    assert compared > 2000          # nearly all of them parse


@pytest.mark.parametrize("text", ["sin(u) where u = x*y", "ones(n) * x", "x / n + eye(n) @ y"])
def test_what_the_tree_is_rewritten_after_reading_is_not_noted(text):
    tree, given, names, shaping = syntax.parse_noting(text)
    assert names is None and shaping is None


def test_the_rule_1_operations_are_those_of_shapes():
    assert syntax.SHAPING == shapes.SHAPING


def _depth(tree) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((a, depth + 1) for a in node.args)
    return deepest


def _nested(opening: str, closing: str, inner: str = "x"):
    """The most deeply nested text of at most MAX_DEPTH / 2 characters of this form."""
    n = syntax.MAX_DEPTH // 2
    k = (n - len(inner)) // (len(opening) + len(closing))
    return opening * k + inner + closing * k


@pytest.mark.parametrize("text", [
    _nested("-", ""), _nested("", "'"), _nested("", "ᵀ"), _nested("2^", ""), _nested("-2^", ""),
    _nested("sin(", ")"), _nested("[", "]"), _nested("(-", ")"), _nested("x-", "", "-x"),
    _nested("x-(", ")"), _nested("x*(", ")"), _nested("[1,", "]"), _nested("max(0,", ")"),
])
def test_a_text_of_half_the_depth_limit_cannot_nest_past_it(text):
    """parse_noting skips the depth walk for texts of at most MAX_DEPTH / 2 characters: the
    most nesting such texts stay within the limit."""
    assert len(text) <= syntax.MAX_DEPTH // 2
    assert _depth(syntax.parse(text)) <= syntax.MAX_DEPTH
