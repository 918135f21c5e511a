"""The expression node: a frozen, hashable tree node with its shape, and room for the
recursive walks over deep trees. Everything else about expressions builds on this module:
`expr.py` (shapes and smart constructors), `notation.py` (printing), and the rest.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

# How a node shows itself in a repr: notation.py installs its ASCII printer when imported
# (this module imports nothing of jac's, so that everything may import it).
printer = None


@contextmanager
def deep_recursion(limit: int = 20000):
    """Room for the recursive walks over closed forms, which nest deeper than the input (a
    chain of 200 functions has a derivative 400 nodes deep); the parser bounds the input."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


class Expr:
    """An expression node. Equality and hash are structural; `shape` and `column` ride along."""

    __slots__ = ("op", "args", "value", "shape", "column", "_hash")

    def __init__(self, op: str, args: tuple = (), value=None, shape=None, column=None):
        set_ = object.__setattr__
        set_(self, "op", op)
        set_(self, "args", tuple(args))
        set_(self, "value", value)
        set_(self, "shape", shape)
        set_(self, "column", column)
        set_(self, "_hash", hash((op, value, self.args)))

    def __setattr__(self, key, value):
        raise AttributeError("Expr is immutable")

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        if self is other:
            return True
        return (isinstance(other, Expr) and self._hash == other._hash and self.op == other.op
                and self.value == other.value and self.args == other.args)

    def __repr__(self):
        return f"Expr({printer(self)!r})" if printer else f"Expr({self.op}, {self.args!r})"

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def variables(self) -> list[str]:
        """Names of the variables in order of first appearance (iterative: no recursion limit)."""
        seen: dict[str, None] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            if node.op == "var":
                seen.setdefault(node.value, None)
            stack.extend(reversed(node.args))
        return list(seen)
