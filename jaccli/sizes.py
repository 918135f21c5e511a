"""Vector and matrix sizes: plain integers, or symbolic sizes such as `n`, `2*n`, `m*n`.

A symbolic size is a polynomial with integer coefficients over named symbols (`n`, `N`,
`batch`, `d_model`: any name the expression language accepts), so stacking `--wrt x,y`
(sizes add) and flattening a matrix (sizes multiply) stay exact. Constant polynomials are
always returned as plain `int`. Every symbol stands for a length, an integer of at least 1.
"""
from __future__ import annotations

import re
from itertools import count

NAME = re.compile(r"[^\W\d_]\w*")
# jac's own symbols for lengths nobody declared, in the order it picks them (SPEC.md "Shapes").
LETTERS = "nmkpqrstuvabcdefghijlowxyz"


class Sym:
    """A symbolic size: {monomial (sorted tuple of symbols): coefficient}."""

    __slots__ = ("terms", "_key", "_text")

    def __init__(self, terms: dict[tuple[str, ...], int]):
        self.terms = {m: c for m, c in terms.items() if c}
        self._key = tuple(sorted(self.terms.items()))
        self._text: str | None = None   # written when first asked for (shapes in every answer)

    def __eq__(self, other):
        return isinstance(other, Sym) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        if self._text is None:
            self._text = self._written()
        return self._text

    def _written(self) -> str:
        parts = []
        # Higher degree first; within a degree, the order the terms came in, so the
        # stacked [x; y] of lengths n and m is n+m, as written.
        for mono, coef in sorted(self.terms.items(), key=lambda t: -len(t[0])):
            body = "*".join(mono)
            if not mono:
                parts.append(str(coef))
            elif coef == 1:
                parts.append(body)
            elif coef == -1:
                parts.append("-" + body)
            else:
                parts.append(f"{coef}*{body}")
        return "+".join(parts).replace("+-", "-")

    def __repr__(self):
        return str(self)


Size = int | Sym      # what every function here takes and gives


def symbol(name: str) -> Sym:
    """The size `name` on its own (one for every size jac names), its text known."""
    s = Sym({(name,): 1})
    s._text = name
    return s


def _terms(s: Size) -> dict[tuple[str, ...], int]:
    return dict(s.terms) if isinstance(s, Sym) else ({(): s} if s else {})


def _make(terms: dict[tuple[str, ...], int]) -> Size:
    terms = {m: c for m, c in terms.items() if c}
    if not terms or set(terms) == {()}:
        return terms.get((), 0)
    return Sym(terms)


def add(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    out = _terms(a)
    for m, c in _terms(b).items():
        out[m] = out.get(m, 0) + c
    return _make(out)


def mul(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:          # the size of a vector's shape: 1·n
        return b
    if b == 1:
        return a
    out: dict[tuple[str, ...], int] = {}
    for ma, ca in _terms(a).items():
        for mb, cb in _terms(b).items():
            m = tuple(sorted(ma + mb))
            out[m] = out.get(m, 0) + ca * cb
    return _make(out)


def total(sizes) -> Size:
    out: Size = 0
    for s in sizes:
        out = add(out, s)
    return out


def product(sizes) -> Size:
    out: Size = 1
    for s in sizes:
        out = mul(out, s)
    return out


def is_symbol(s: Size) -> bool:
    """A size that is one symbol on its own (n, batch), not 2*n or n+m."""
    return isinstance(s, Sym) and len(s.terms) == 1 and next(iter(s.terms.items()))[1] == 1 \
        and len(next(iter(s.terms))) == 1


def is_concrete(s: Size) -> bool:
    return isinstance(s, int)


def to_json(s: Size):
    """SPEC.md: a concrete dimension is a number, a symbolic one a string."""
    return s if isinstance(s, int) else str(s)


def parse(text: str) -> Size:
    """Parse a size as written in `--shape`: `3`, `n`, `2*n`, `n+m`, `m*n`."""
    text = text.strip()
    if not text:
        raise ValueError("empty size")
    out: Size = 0
    terms = text.replace("-", "+-").split("+")
    if text.startswith("-"):            # "-3": the sign opens the first term
        terms = terms[1:]
    for term in terms:
        term = term.strip()
        if not term:
            raise ValueError(f"bad size {text!r}")
        sign = 1
        if term.startswith("-"):
            sign, term = -1, term[1:]
        value: Size = sign
        for factor in term.split("*"):
            factor = factor.strip()
            if factor.isdigit():
                value = mul(value, int(factor))
            elif NAME.fullmatch(factor):
                value = mul(value, symbol(factor))
            else:
                raise ValueError(f"bad size {text!r}")
        out = add(out, value)
    return out


def symbols(s: Size) -> set[str]:
    """The names a size is written with."""
    return {name for mono in _terms(s) for name in mono}


def surely_positive(s: Size) -> bool:
    """True when `s` is at least 1 for every choice of its symbols (each at least 1).

    Substituting 1 + t for every symbol gives a polynomial in t >= 0; when all its
    coefficients are non-negative and its constant term is positive, it is positive.
    The test is sufficient, not necessary (n^2 - 3n + 3 is refused), and exact for sizes
    written as sums of products with positive coefficients, the ones people write."""
    shifted: dict[tuple[str, ...], int] = {}
    for mono, coef in _terms(s).items():
        # (1 + t1)(1 + t2)... expanded: one term for every subset of the factors
        expansion: dict[tuple[str, ...], int] = {(): coef}
        for name in mono:
            grown: dict[tuple[str, ...], int] = {}
            for m, c in expansion.items():
                grown[m] = grown.get(m, 0) + c
                bigger = tuple(sorted(m + (name,)))
                grown[bigger] = grown.get(bigger, 0) + c
            expansion = grown
        for m, c in expansion.items():
            shifted[m] = shifted.get(m, 0) + c
    return shifted.get((), 0) > 0 and all(c >= 0 for c in shifted.values())


def fresh_names(used):
    """Names for new symbols, never one in `used`: n, m, k, ..., then n1, m1, ..., n2, ..."""
    for suffix in count():
        for letter in LETTERS:
            name = letter + (str(suffix) if suffix else "")
            if name not in used:
                yield name
