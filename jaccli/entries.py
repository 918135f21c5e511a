"""The (i, j) entry of a structured Jacobian as a scalar expression, for drawing matrices.

`entry(j, r, c)` indexes a Jacobian the way the article draws one: diag(y) has `y₁` at
(1, 1) and `0` at (1, 2); xᵀ has `x₂` at (1, 2); W has `W₂₃` at (2, 3). Element-wise
operations distribute over the index ((a ⊙ b)ᵢ = aᵢ·bᵢ, sin(x)ᵢ = sin(xᵢ)); anything else,
such as a matrix product or softmax, keeps its form with the index attached: `(W x)₂`.

An index is a 1-based int, or a symbolic size (the last index of a dimension of length n
is n itself), so a pattern such as `y₁ 0 ⋯ 0 ⋯ yₙ` needs no numbers. When an entry cannot
be written this simply (a product with a long inner sum, a Kronecker product of symbolic
size), `entry` returns None and the caller shows the closed form alone.
"""
from __future__ import annotations

from . import expr as E
from . import jacobians as J
from . import sizes
from .expr import Expr
from .notation import ATOM, UNICODE, show

_SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvx",
                      "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_ELEMENTWISE = ("add", "neg", "mul", "div", "pow", "max", "min") + E.ELEMENTWISE_FUNCTIONS
# A product's entry is a sum over its inner index; beyond this many terms it is not drawn.
MAX_INNER_TERMS = 3
# Steps (entries and indexings) spent on one entry before giving up on it. Products of
# products expand into sums of sums, 3^depth terms for a chain of depth 3x3 factors; an
# entry that needs this many steps is far longer than a drawing can show anyway.
MAX_ENTRY_STEPS = 400
_steps_left = MAX_ENTRY_STEPS       # reset by `entry` for each entry it computes


class NoEntry(Exception):
    """The entry has no short form."""


def subscripts(indices) -> str:
    """x₁, Wᵢⱼ, W₁,₁₂; with a size no subscript letter spells (N, batch), x[N], X[1,d_model]."""
    texts = [str(i).replace("*", "") for i in indices]
    if not all(ch in _SUBSCRIPT for text in texts for ch in text):
        return "[" + ",".join(texts) + "]"
    parts = ["".join(_SUBSCRIPT[ch] for ch in text) for text in texts]
    return "".join(parts) if all(len(t) == 1 for t in texts) else ",".join(parts)


def same(a, b) -> bool:
    """Two indices denote the same position (a symbolic last index equals only itself)."""
    return a == b and type(a) is type(b)


def _leaf(text: str) -> Expr:
    return Expr("var", (), text, ())


def _step() -> None:
    global _steps_left
    _steps_left -= 1
    if _steps_left < 0:
        raise NoEntry


def index(e: Expr, at: tuple) -> Expr:
    """The scalar entry of `e` at `at` (one index for a vector, two for a matrix)."""
    _step()
    shape = e.shape
    if shape == ():
        return e
    op = e.op
    if op == "var":
        return _leaf(e.value + subscripts(at))
    if op == "ones":
        return E.ONE
    if op == "zeros":
        return E.ZERO
    if op in _ELEMENTWISE:
        args = [index(a, at) if a.shape != () else a for a in e.args]
        if op == "add":
            return E.add(*args)
        if op == "neg":
            return E.neg(args[0])
        if op == "mul":
            return E.mul(*args)
        if op == "div":
            return E.div(*args)
        if op == "pow":
            return E.pow_(*args)
        return E.typed(op, args)
    if op == "vector" and isinstance(at[0], int):
        return e.args[at[0] - 1]
    if op == "transpose":
        inner = e.args[0]
        if len(inner.shape) == 1:                 # xᵀ is 1 x n: (1, j) is x_j
            return index(inner, (at[-1],))
        if len(shape) == 1:                       # a 1 x n row turned into a vector
            return index(inner, (1, at[0]))
        return index(inner, (at[1], at[0]))
    if op == "vec" and isinstance(at[0], int) and all(isinstance(s, int) for s in e.args[0].shape):
        cols = e.args[0].shape[1]
        r, c = divmod(at[0] - 1, cols)
        return index(e.args[0], (r + 1, c + 1))
    return _leaf(show(e, UNICODE, ATOM) + subscripts(at))


def _diag_like(j: J.Jacobian) -> bool:
    return isinstance(j, (J.Zero, J.Identity, J.Scaled, J.Diagonal))


def _entry(j: J.Jacobian, r, c) -> Expr:
    _step()
    if isinstance(j, J.Zero):
        return E.ZERO
    if isinstance(j, J.Identity):
        return E.ONE if same(r, c) else E.ZERO
    if isinstance(j, J.Scaled):
        return j.c if same(r, c) else E.ZERO
    if isinstance(j, J.Diagonal):
        return index(j.d, (r,)) if same(r, c) else E.ZERO
    if isinstance(j, J.Row):
        return index(j.v, (c,))
    if isinstance(j, J.Column):
        return index(j.v, (r,))
    if isinstance(j, J.Scalar):
        return j.c
    if isinstance(j, J.Matrix):
        return index(j.m, (r, c))
    if isinstance(j, J.Sum):
        return E.add(*(_entry(t, r, c) for t in j.terms))
    if isinstance(j, J.Product):
        return _product_entry(list(j.factors), r, c)
    if isinstance(j, J.Kron):
        a, b = j.a, j.b
        if not (isinstance(r, int) and isinstance(c, int) and isinstance(b.rows, int)
                and isinstance(b.cols, int)):
            raise NoEntry
        (ra, rb), (ca, cb) = divmod(r - 1, b.rows), divmod(c - 1, b.cols)
        return E.mul(_entry(a, ra + 1, ca + 1), _entry(b, rb + 1, cb + 1))
    if isinstance(j, J.Stack):
        return _stack_entry(j, r, c)
    if isinstance(j, J.Commutation):
        if not all(isinstance(v, int) for v in (r, c, j.m, j.n)):
            raise NoEntry
        i, k = divmod(c - 1, j.n)          # column c holds A[i, k]; vec(Aᵀ) has it at k*m + i
        return E.ONE if r - 1 == k * j.m + i else E.ZERO
    raise NoEntry


def _product_entry(factors: list, r, c) -> Expr:
    """(A·B)ᵣ꜀ = Σₖ Aᵣₖ·Bₖ꜀, with one term when a factor is diagonal."""
    if len(factors) == 1:
        return _entry(factors[0], r, c)
    first, rest = factors[0], factors[1:]
    if _diag_like(first):
        return E.mul(_entry(first, r, r), _product_entry(rest, r, c))
    last = factors[-1]
    if _diag_like(last):
        return E.mul(_product_entry(factors[:-1], r, c), _entry(last, c, c))
    inner = first.cols
    if not isinstance(inner, int) or inner > MAX_INNER_TERMS:
        raise NoEntry
    return E.add(*(E.mul(_entry(first, r, k), _product_entry(rest, k, c))
                   for k in range(1, inner + 1)))


def _stack_entry(j: J.Stack, r, c) -> Expr:
    at = c if j.axis == "h" else r
    if not isinstance(at, int):
        raise NoEntry
    for block in j.blocks:
        length = block.cols if j.axis == "h" else block.rows
        if not isinstance(length, int):
            raise NoEntry
        if at <= length:
            return _entry(block, r, at) if j.axis == "h" else _entry(block, at, c)
        at -= length
    raise NoEntry


def entry(j: J.Jacobian, r, c) -> Expr | None:
    """The (r, c) entry of `j` (1-based ints or symbolic last indices), or None."""
    global _steps_left
    _steps_left = MAX_ENTRY_STEPS
    try:
        return _entry(j, r, c)
    except NoEntry:
        return None


def entry_text(j: J.Jacobian, r, c) -> str | None:
    e = entry(j, r, c)
    return None if e is None else show(e, UNICODE)


def last_index(size: sizes.Size):
    """The index of the last row or column: the size itself, symbolic or not."""
    return size
