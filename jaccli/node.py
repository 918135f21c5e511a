"""The expression node: a frozen, hashable tree node with its shape, its size written out
(`written_size`), and room for the recursive walks over deep trees. Everything else about
expressions builds on this module: `expr.py` (shapes and smart constructors), `notation.py`
(printing), and the rest.
"""
from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# Whether mypyc compiled this module (setup.py): the constructor then sets the slots itself
# rather than through their setters, a call each.
COMPILED = __file__.endswith((".so", ".pyd"))

# How a node shows itself in a repr: notation.py installs its ASCII printer when imported
# (this module imports nothing of jac's, so that everything may import it).
printer: Callable[[Expr], str] | None = None


class deep_recursion:
    """Room for the recursive walks over closed forms, which nest deeper than the input (a
    chain of 200 functions has a derivative 400 nodes deep); the parser bounds the input.
    `with deep_recursion():` (a class, not a generator: it is entered for every form)."""

    __slots__ = ("limit", "old")

    def __init__(self, limit: int = 20000):
        self.limit = limit

    def __enter__(self):
        self.old = sys.getrecursionlimit()
        if self.old < self.limit:
            sys.setrecursionlimit(self.limit)

    def __exit__(self, *exc):
        if self.old < self.limit:
            sys.setrecursionlimit(self.old)
        return False


_FIELDS = ("op", "args", "value", "shape", "column", "_hash", "_written", "_key")


class Expr:
    """An expression node. Equality and hash are structural; `shape` and `column` ride along."""

    # `_written` and `_key` are not set by the constructor: `written_size` and
    # `algebra.Algebra.key` fill them in when asked.
    __slots__ = _FIELDS
    op: str
    args: tuple[Expr, ...]
    value: Any
    shape: Any
    column: Any
    _hash: int
    _written: int
    _key: Any

    def __init__(self, op: str, args: tuple = (), value=None, shape=None, column=None):
        args = tuple(args)
        # From the operands' stored hashes: hashing the operands themselves would call
        # __hash__, a Python function, once for each of them.
        n = len(args)
        if n == 0:
            key = hash((op, value))
        elif n == 1:
            key = hash((op, value, args[0]._hash))
        elif n == 2:
            key = hash((op, value, args[0]._hash, args[1]._hash))
        else:
            key = hash((op, value, *[a._hash for a in args]))
        if COMPILED:     # mypyc's constructor of a native class sets its slots directly
            self.op, self.args, self.value, self.shape, self.column, self._hash = \
                op, args, value, shape, column, key
        else:            # as Python, assignment would go through __setattr__
            _set_op(self, op)
            _set_args(self, args)
            _set_value(self, value)
            _set_shape(self, shape)
            _set_column(self, column)
            _set_hash(self, key)

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


# The constructor fills the slots through their own setters (Expr.__setattr__ refuses, and
# object.__setattr__ looks each name up again: a node is built tens of times per answer).
_set_op, _set_args, _set_value, _set_shape, _set_column, _set_hash, _set_written, \
    remember_key = (vars(Expr)[name].__set__ for name in _FIELDS)


def written_size(e: Expr) -> int:
    """How many nodes `e` has written out in full (a shared subexpression counted each time it
    appears), found without writing it and kept on every node with operands that it visits,
    so the forms of one answer, which share their subexpressions, are counted once
    (iterative: no recursion limit)."""
    size = getattr(e, "_written", None)
    if size is not None:
        return size
    if not e.args:
        return 1
    stack = [e]
    while stack:
        node = stack[-1]
        size, pending = 1, None
        for a in node.args:
            if not a.args:
                size += 1
                continue
            known = getattr(a, "_written", None)
            if known is None:
                pending = [a] if pending is None else pending + [a]
            else:
                size += known
        if pending is not None:
            stack.extend(pending)
            continue
        stack.pop()
        _set_written(node, size)
    return e._written
