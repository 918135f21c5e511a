"""Readers for the papers' notation jac prints: the terminal (Unicode) form and LaTeX.

Independent of jac (no `jaccli` import; block matrices are assembled as tests/oracle.py
does): each reader turns the text into one small tree that is evaluated with the papers'
semantics, where vectors are COLUMNS (n×1), `xᵀ` is a row, and juxtaposition is the
matrix product. Every value is a 2-D NumPy array; a
scalar is 1×1, and a 1×1 factor in a product scales the other (`2·x`, `(xᵀy) A`).

Terminal form: `xᵀ` transpose, `A y` product, `⊙` element-wise product, `·` a scalar times
something or the dot product of two vectors, `/` and `⊘` division, `⊗` Kronecker, `I`
identity, `𝟏` ones, `0`, `‖x‖` norm, superscript powers `x²` `‖x‖⁻¹`, `a^b`, `−` minus,
functions `sin(…)`, `diag(…)`, `step(…)`, and the ASCII helpers `eye(n)`, `ones(n)`,
`zeros(m, n)`, `kron(A, B)`, `vec(A)`, `commutation(m, n)`. Names are whole words (`Xw`
is one name, as in jac's input), so a product of two names needs a space.

LaTeX: `\\mathbf{x}`, `\\mathrm{name}`, `^\\top`, juxtaposition, `\\odot`, `\\otimes`,
`\\cdot`, `\\frac{a}{b}`, `{a}^{b}`, `\\left( … \\right)`, `\\operatorname{f}\\left(…\\right)`,
`\\sin\\left(…\\right)` and kin, `\\sqrt{…}`, `\\lVert x \\rVert`, `\\mathbf{1}`, `I`, `0`,
`K_{m,n}` (the commutation matrix), `I_{n}`, `\\begin{bmatrix} a \\\\ b \\end{bmatrix}`.

Brackets in both: `[a, b, c]` of scalars is a column, or a row where the whole form is one
(RULES.md writes ∇f(x, y) = [6xy, 3x²]); `[[a, b], [c, d]]` lists rows (RULES.md's
J = [[6xy, 3x²], [2, 8y⁷]]: every item a comma list); otherwise `[A, B]` sets blocks side by side, `[A; B]` stacks them.
A bare letter sequence is a product of one-letter names, as LaTeX reads it.

`I` and `𝟏` take their size from what they are combined with (`Lazy`), and at the end from
the expected Jacobian shape. Where the papers' precedence is unsettled — does `A ⊙ B c`
mean (A ⊙ B)c or A ⊙ (Bc), does `I ⊗ xᵀ` bind before the product — a reader cannot trust
the form, so `paper_value` reads it three ways (all product operators one left-associative
level; juxtaposition, then ⊗, then ⊙ · / ⊘; ⊗, then juxtaposition, then ⊙ · / ⊘) and the
readings must agree: `x xᵀ/‖x‖³` and `2·Xᵀ(Xw + b − y)/m` do, `I ⊗ xᵀ C` does not.
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

from oracle import NeedsSize, assemble_blocks

SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TO_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class NotationError(ValueError):
    """The text is not a form the reader knows, or its sizes do not fit."""


# ------------------------------------------------------------------ tokens

_UNICODE_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ones>𝟏)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
  | (?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)
  | (?P<name>(?![ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹⁻])[^\W\d_](?:(?![ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹⁻])\w)*)
  | (?P<op>\*\*|[-+*/@^'()\[\],;ᵀ⊙⊘⊗·⋅‖−])
""", re.VERBOSE)

_OP_ALIASES = {"−": "-", "**": "^", "'": "ᵀ", "*": "⊙", "⊘": "/", "⋅": "·"}


def unicode_tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _UNICODE_TOKEN.match(text, pos)
        if m is None:
            raise NotationError(f"unexpected {text[pos]!r} at {pos + 1} in {text!r}")
        pos = m.end()
        kind, value = m.lastgroup, m.group()
        if kind == "ws":
            continue
        if kind == "ones":
            kind, value = "op", "𝟏"
        elif kind == "sup":
            value = value.translate(SUPERSCRIPTS)
        elif kind == "op":
            value = _OP_ALIASES.get(value, value)
            if value == "@":
                raise NotationError(f"'@' is not the papers' notation: {text!r}")
        out.append((kind, value))
    out.append(("end", ""))
    return out


_LATEX_FUNCTIONS = {"sin", "cos", "tan", "exp", "log", "ln", "tanh", "max", "min"}
_LATEX_OPS = {"cdot": "·", "odot": "⊙", "otimes": "⊗", "oslash": "/", "times": "·"}
_LATEX_SKIP = {"left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr"}
_LATEX_NAMES = {"mathrm", "operatorname", "text", "mathit"}
_LATEX_BOLD = {"mathbf", "boldsymbol", "bm"}
_LATEX_SPACES = (r"\,", r"\;", r"\!", r"\ ")


class _Latex:
    """Rewrites LaTeX into the terminal form's token stream (groups become parentheses)."""

    _RAW = re.compile(r"\\[A-Za-z]+|\\.|[0-9]+(?:\.[0-9]*)?|\.[0-9]+|\s+|.", re.S)

    def __init__(self, text: str):
        self.text = text
        self.raw = [t for t in self._RAW.findall(text)]
        self.i = 0
        self.out: list[tuple[str, str]] = []

    def _space(self, j: int) -> bool:
        return j < len(self.raw) and (self.raw[j].isspace() or self.raw[j] in _LATEX_SPACES)

    def peek(self) -> str:
        j = self.i
        while self._space(j):
            j += 1
        return self.raw[j] if j < len(self.raw) else ""

    def next(self) -> str:
        while self._space(self.i):
            self.i += 1
        if self.i >= len(self.raw):
            return ""
        t = self.raw[self.i]
        self.i += 1
        return t

    def group_text(self) -> str:
        """The raw text of the `{…}` group that follows (or of one token)."""
        t = self.next()
        if t != "{":
            return t
        depth, parts = 1, []
        while True:
            t = self.next() if self.peek() else ""
            if not t:
                raise NotationError(f"unclosed group in {self.text!r}")
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    return "".join(parts)
            parts.append(t)

    def emit(self, kind: str, value: str) -> None:
        self.out.append((kind, value))

    def group(self) -> None:
        """The `{…}` group (or single token) that follows, as a parenthesised sub-stream."""
        self.emit("op", "(")
        if self.peek() == "{":
            self.next()
            self.run(until="}")
        else:
            self.one(self.next())
        self.emit("op", ")")

    def tokens(self) -> list[tuple[str, str]]:
        self.run(until="")
        self.out.append(("end", ""))
        return self.out

    def run(self, until: str) -> None:
        while True:
            t = self.next()
            if t == until:
                return
            if not t:
                raise NotationError(f"expected {until!r} in {self.text!r}")
            self.one(t)

    def name_with_subscript(self, name: str) -> None:
        if self.peek() != "_":
            self.emit("name", name)
            return
        self.next()
        sub = self.group_text().replace(" ", "")
        if name == "K" and "," in sub:                      # K_{m,n}: the commutation matrix
            m, n = sub.split(",", 1)
            self.out += [("name", "commutation"), ("op", "(")] + unicode_tokens(m)[:-1] + \
                [("op", ",")] + unicode_tokens(n)[:-1] + [("op", ")")]
        elif name == "I":
            self.out += [("name", "eye"), ("op", "(")] + unicode_tokens(sub)[:-1] + [("op", ")")]
        elif name == "𝟏":
            self.out += [("name", "ones"), ("op", "(")] + unicode_tokens(sub)[:-1] + [("op", ")")]
        else:
            self.emit("name", f"{name}_{sub}")

    def one(self, t: str) -> None:
        if t == "{":
            self.emit("op", "(")
            self.run(until="}")
            self.emit("op", ")")
        elif t in ("(", ")", "[", "]", "+", "-", "/", ",", ";", "·", "⊙", "⊗", "−", "ᵀ"):
            self.emit("op", _OP_ALIASES.get(t, t))
        elif t == "&":
            self.emit("op", ",")
        elif t == "^":
            if self.peek() == r"\top" or self.peek() == r"\intercal":
                self.next()
                self.emit("op", "ᵀ")
                return
            if self.peek() == "{":
                save = self.i
                inner = self.group_text().strip()
                if inner in (r"\top", r"\intercal"):
                    self.emit("op", "ᵀ")
                    return
                self.i = save
            self.emit("op", "^")
            self.group()
        elif t == "\\\\":
            self.emit("op", ";")
        elif t.startswith("\\"):
            self.command(t[1:])
        elif t[0].isdigit() or t[0] == ".":
            self.emit("number", t)
        elif t.isalpha():
            self.name_with_subscript(t)
        elif t == "|":
            self.emit("op", "‖")     # |x| read as a norm is wrong; jac prints no bars
        else:
            raise NotationError(f"unexpected {t!r} in LaTeX {self.text!r}")

    def command(self, c: str) -> None:
        if c in _LATEX_SKIP or c in (",", ";", "!", " "):
            return
        if c in _LATEX_OPS:
            self.emit("op", _LATEX_OPS[c])
        elif c == "|":
            self.emit("op", "‖")
        elif c in ("lVert", "Vert"):
            self.out += [("name", "norm"), ("op", "(")]
        elif c == "rVert":
            self.emit("op", ")")
        elif c in ("{", "}"):
            self.emit("op", "(" if c == "{" else ")")
        elif c == "frac":
            self.emit("op", "(")
            self.group()
            self.emit("op", "/")
            self.group()
            self.emit("op", ")")
        elif c == "sqrt":
            self.emit("name", "sqrt")
            self.group()
        elif c in _LATEX_FUNCTIONS:
            self.emit("name", "log" if c == "ln" else c)
        elif c in _LATEX_NAMES:
            self.name_with_subscript(self.group_text().replace(r"\_", "_").strip())
        elif c in _LATEX_BOLD:
            inner = self.group_text().replace(r"\_", "_").strip()
            if inner == "1":
                self.name_with_subscript("𝟏")
            elif inner == "0":
                self.emit("number", "0")
            elif inner.startswith("\\"):
                sub = _Latex(inner).tokens()[:-1]
                self.out += sub
            else:
                self.name_with_subscript(inner)
        elif c in ("begin", "end"):
            env = self.group_text()
            if env not in ("bmatrix", "pmatrix"):
                raise NotationError(f"unknown environment {env!r} in {self.text!r}")
            self.emit("op", "[" if c == "begin" else "]")
        elif c in ("sigma",) and self.peek() in ("(", r"\left"):
            self.emit("name", "sigmoid")
        else:
            try:
                letter = unicodedata.lookup(f"GREEK SMALL LETTER {c.upper()}" if c.islower()
                                            else f"GREEK CAPITAL LETTER {c.upper()}")
            except KeyError:
                raise NotationError(f"unknown command \\{c} in {self.text!r}") from None
            self.name_with_subscript(letter)


def latex_tokens(text: str) -> list[tuple[str, str]]:
    out = _Latex(text).tokens()
    return [("op", "𝟏") if t == ("name", "𝟏") else t for t in out]


# ------------------------------------------------------------------ parser

FLAT, JUXT_FIRST, KRON_FIRST = "all products one level", "juxtaposition first", "⊗ first"
CONVENTIONS = (FLAT, JUXT_FIRST, KRON_FIRST)
_PRODUCT_OPS = ("⊙", "·", "/", "⊗")


class _Parser:
    """Trees: ("num", v) ("name", s) ("ones",) ("neg", a) ("add"|"sub"|"juxt"|"had"|"scale"|
    "div"|"kron"|"pow", a, b) ("transpose", a) ("call", name, *args) ("vector", *items)
    ("block", *rows) for `[A, B; C, D]` (`\\` and `&` in a LaTeX matrix).

    expr := term (('+'|'-') term)*, and by convention:
    FLAT:        term := unary ((('⊙'|'·'|'/'|'⊗') unary) | juxt-operand)*, left to right;
    JUXT_FIRST:  term := unary (('⊙'|'·'|'/') unary)*; unary := '-' unary | kron;
                 kron := juxt ('⊗' juxt)*; juxt := power power*;
    KRON_FIRST:  the same with juxt := kron kron*; kron := power ('⊗' power)*.
    All: power := postfix ('^' exponent)?; postfix := atom ('ᵀ' | superscript)*."""

    def __init__(self, tokens, convention: str):
        self.tokens, self.i, self.convention = tokens, 0, convention
        self.norms = 0          # inside ‖…‖ a bar closes rather than opens

    def peek(self):
        return self.tokens[self.i]

    def take(self, want: str | None = None):
        kind, value = self.tokens[self.i]
        if want is not None and value != want:
            raise NotationError(f"expected {want!r}, found {value!r}")
        self.i += 1
        return kind, value

    def parse(self):
        tree = self.expr()
        if self.peek()[0] != "end":
            raise NotationError(f"trailing {self.peek()[1]!r}")
        return tree

    def expr(self):
        out = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = "add" if self.take()[1] == "+" else "sub"
            out = (op, out, self.term())
        return out

    def starts_atom(self) -> bool:
        kind, value = self.peek()
        if kind in ("number", "name"):
            return True
        if kind == "op" and value in ("(", "[", "𝟏"):
            return True
        return kind == "op" and value == "‖" and self.norms == 0

    def term(self):
        flat = self.convention == FLAT
        out = self.unary()
        while True:
            kind, value = self.peek()
            if kind == "op" and value in (_PRODUCT_OPS if flat else _PRODUCT_OPS[:3]):
                self.take()
                out = (_BINARY[value], out, self.unary())
            elif flat and self.starts_atom():
                out = ("juxt", out, self.power())
            else:
                return out

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        if self.peek() == ("op", "+"):
            self.take()
            return self.unary()
        if self.convention == FLAT:
            return self.power()
        return self.kron() if self.convention == JUXT_FIRST else self.juxt()

    def juxt(self):
        operand = self.kron if self.convention == KRON_FIRST else self.power
        out = operand()
        while self.starts_atom():
            out = ("juxt", out, operand())
        return out

    def kron(self):
        operand = self.juxt if self.convention == JUXT_FIRST else self.power
        out = operand()
        while self.peek() == ("op", "⊗"):
            self.take()
            out = ("kron", out, operand())
        return out

    def power(self):
        base = self.postfix()
        if self.peek() == ("op", "^"):
            self.take()
            return ("pow", base, self.exponent())
        return base

    def exponent(self):
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.exponent())
        return self.power()

    def postfix(self):
        out = self.atom()
        while True:
            kind, value = self.peek()
            if (kind, value) == ("op", "ᵀ"):
                self.take()
                out = ("transpose", out)
            elif kind == "sup":
                self.take()
                out = ("pow", out, ("num", float(value)))
            else:
                return out

    def atom(self):
        kind, value = self.take()
        if kind == "number":
            return ("num", float(value))
        if kind == "name":
            # A call only of a function's name: `a (b + c)` and `a \left(…\right)` are products.
            if value in FUNCTION_NAMES and self.peek() == ("op", "("):
                self.take()
                args = self.arguments(")")
                return ("call", value, *args)
            return ("name", value)
        if value == "𝟏":
            return ("ones",)
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if value == "[":
            rows, row = [], [self.expr()]
            while self.peek() in (("op", ","), ("op", ";")):
                if self.take()[1] == ";":
                    rows.append(tuple(row))
                    row = []
                row.append(self.expr())
            self.take("]")
            rows.append(tuple(row))
            return ("vector", *rows[0]) if len(rows) == 1 else ("block", *rows)
        if value == "‖":
            self.norms += 1
            inner = self.expr()
            self.norms -= 1
            self.take("‖")
            return ("call", "norm", inner)
        raise NotationError(f"unexpected {value!r}")

    def arguments(self, close: str) -> list:
        saved, self.norms = self.norms, 0
        args = [self.expr()]
        while self.peek() == ("op", ","):
            self.take()
            args.append(self.expr())
        self.take(close)
        self.norms = saved
        return args


FUNCTION_NAMES = {
    "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "step", "sign",
    "sum", "mean", "norm", "logsumexp", "softmax", "max", "min", "dot", "diag", "vec", "kron",
    "commutation", "eye", "ones", "zeros",
}
_BINARY = {"⊙": "had", "·": "scale", "/": "div", "⊗": "kron"}


def read_unicode(text: str, convention: str = FLAT):
    return _Parser(unicode_tokens(text), convention).parse()


def read_latex(text: str, convention: str = FLAT):
    return _Parser(latex_tokens(text), convention).parse()


# ------------------------------------------------------------------ lazy sizes

class Lazy:
    """A matrix whose size its context decides: I, 𝟏 and what is built from them.

    rows/cols: known sizes or None; complete(r, c) fills what the kind implies (I is square,
    𝟏 has one column); make(r, c) builds the array once both are known."""

    def __init__(self, rows, cols, make, complete=None):
        self.rows, self.cols, self.make = rows, cols, make
        self.complete = complete or (lambda r, c: (r, c))

    def sized(self, rows=None, cols=None):
        for want, have in ((rows, self.rows), (cols, self.cols)):
            if want is not None and have is not None and want != have:
                raise NotationError(f"size {want} where {have} is fixed")
        r = rows if rows is not None else self.rows
        c = cols if cols is not None else self.cols
        given = (r, c)
        r, c = self.complete(r, c)
        if any(g is not None and g != k for g, k in zip(given, (r, c))):
            raise NotationError(f"cannot be {given[0]}×{given[1]} (I is square, 𝟏 one column)")
        if r is None or c is None:
            return Lazy(r, c, self.make, self.complete)
        out = np.asarray(self.make(r, c), dtype=float)
        if out.shape != (r, c):
            raise NotationError(f"built {out.shape} for {(r, c)}")
        return out

    def map(self, f):
        return Lazy(self.rows, self.cols, lambda r, c: f(self.sized(r, c)), self.complete)

    def transposed(self):
        def complete(r, c):
            c2, r2 = self.complete(c, r)
            return r2, c2
        return Lazy(self.cols, self.rows, lambda r, c: self.sized(c, r).T, complete)


def identity() -> Lazy:
    def square(r, c):
        n = r if r is not None else c
        return n, n
    return Lazy(None, None, lambda r, c: np.eye(r), square)


def ones_column() -> Lazy:
    return Lazy(None, 1, lambda r, c: np.ones((r, 1)))


def _is_scalar(v) -> bool:
    return not isinstance(v, Lazy) and v.shape == (1, 1)


def _elementwise(a, b, f, what: str):
    """f(a, b) entry by entry; a 1×1 side broadcasts, a lazy side takes the other's size."""
    if isinstance(a, Lazy) and isinstance(b, Lazy):
        r, c = a.rows if a.rows is not None else b.rows, a.cols if a.cols is not None else b.cols

        def complete(r, c):
            r, c = a.complete(r, c)
            return b.complete(r, c)
        return Lazy(r, c, lambda r, c: f(a.sized(r, c), b.sized(r, c)), complete)
    if isinstance(a, Lazy):
        if _is_scalar(b):
            return a.map(lambda x: f(x, b))
        return f(_concrete(a.sized(*b.shape)), b)
    if isinstance(b, Lazy):
        if _is_scalar(a):
            return b.map(lambda x: f(a, x))
        return f(a, _concrete(b.sized(*a.shape)))
    if a.shape != b.shape and not (_is_scalar(a) or _is_scalar(b)):
        raise NotationError(f"{what} of {a.shape} and {b.shape}")
    return f(a, b)


def _concrete(v) -> np.ndarray:
    if isinstance(v, Lazy):
        raise NotationError(f"cannot tell the size of I or 𝟏 here (rows {v.rows}, cols {v.cols})")
    return v


def _vec(a):
    """vec(M), row by row. M of I or 𝟏 with one side known takes the other from the length
    the context gives vec(M): vec(𝟏 xᵀ) of length 6 with x of length 3 has 𝟏 of length 2."""
    if not isinstance(a, Lazy):
        return a.reshape(-1, 1)

    def inner(length):
        r, c = a.rows, a.cols
        if r is None and c is not None:
            r = length // c
        elif c is None and r is not None:
            c = length // r
        elif r is None and c is None:           # vec(I): a square of `length` entries
            r = math.isqrt(length)
            r, c = a.complete(r, None)
        return _concrete(a.sized(r, c))

    def complete(r, c):
        if r is None and a.rows is not None and a.cols is not None:
            r = a.rows * a.cols
        return r, 1
    return Lazy(None, 1, lambda r, c: inner(r).reshape(-1, 1), complete)


def _matmul(a, b):
    """Juxtaposition: the matrix product, or a scalar times something."""
    if _is_scalar(a) or _is_scalar(b):
        return _elementwise(a, b, np.multiply, "scalar product")
    if isinstance(a, Lazy) and isinstance(b, Lazy):
        k = a.cols if a.cols is not None else b.rows
        if k is None:                           # I ⊗ A 𝟏: the result's size will tell
            def make(r, c):
                left = a.sized(r, None)
                if isinstance(left, Lazy):
                    right = _concrete(b.sized(None, c))
                    return _matmul(_concrete(a.sized(r, right.shape[0])), right)
                return _matmul(left, _concrete(b.sized(left.shape[1], c)))
            return Lazy(a.rows, b.cols, make)
        a2, b2 = a.sized(cols=k), b.sized(rows=k)
        if not isinstance(a2, Lazy) or not isinstance(b2, Lazy):
            return _matmul(a2, b2)
        return Lazy(a2.rows, b2.cols, lambda r, c: a2.sized(r, k) @ b2.sized(k, c),
                    lambda r, c: (a2.complete(r, k)[0], b2.complete(k, c)[1]))
    if isinstance(a, Lazy):
        p, q = b.shape
        a2 = a.sized(cols=p)
        if not isinstance(a2, Lazy):
            return _matmul(a2, b)
        return Lazy(a2.rows, q, lambda r, c: a2.sized(r, p) @ b,
                    lambda r, c: (a2.complete(r, p)[0], q))
    if isinstance(b, Lazy):
        p, q = a.shape
        b2 = b.sized(rows=q)
        if not isinstance(b2, Lazy):
            return _matmul(a, b2)
        return Lazy(p, b2.cols, lambda r, c: a @ b2.sized(q, c),
                    lambda r, c: (p, b2.complete(q, c)[1]))
    if a.shape[1] != b.shape[0]:
        raise NotationError(f"product of {a.shape} and {b.shape}")
    return a @ b


def _kron(a, b):
    if not isinstance(a, Lazy) and not isinstance(b, Lazy):
        return np.kron(a, b)
    if isinstance(a, Lazy) and isinstance(b, Lazy):
        raise NotationError("a Kronecker product of two sizeless factors")
    lazy, (p, q) = (a, b.shape) if isinstance(a, Lazy) else (b, a.shape)

    def inner(r, c):
        return (r // p if r is not None else None, c // q if c is not None else None)

    def complete(r, c):
        lr, lc = lazy.complete(*inner(r, c))
        return (lr * p if lr is not None else None, lc * q if lc is not None else None)

    def make(r, c):
        m = lazy.sized(*inner(r, c))
        return np.kron(m, b) if lazy is a else np.kron(a, m)
    rows = lazy.rows * p if lazy.rows is not None else None
    cols = lazy.cols * q if lazy.cols is not None else None
    return Lazy(rows, cols, make, complete)


def _scale_or_dot(a, b):
    """`·`: a scalar times something, or the dot product of two vectors of one length."""
    return _matmul(a, b) if _is_scalar(a) or _is_scalar(b) else _dot(a, b)


def _dot(a, b):
    if isinstance(a, Lazy):
        a = a.sized(*_concrete(b).shape)
    if isinstance(b, Lazy):
        b = b.sized(*a.shape)
    a, b = _concrete(a), _concrete(b)
    if a.shape != b.shape or 1 not in a.shape:
        raise NotationError(f"'·' between {a.shape} and {b.shape}: neither a scalar nor two vectors")
    return np.array([[float(np.sum(a * b))]])


def _blocks(rows: list[list]):
    """A block matrix; sized by the whole result when its parts cannot tell (`[I; I]`)."""
    try:
        return assemble_blocks(rows, scalar=_is_scalar)
    except NeedsSize:
        lazy = Lazy(None, None, lambda r, c: assemble_blocks(rows, (r, c), scalar=_is_scalar))
        lazy.blocks = rows         # for a reader who knows the blocks' sizes (evaluate's split)
        return lazy
    except ValueError as e:
        raise NotationError(str(e)) from None


def _column(v) -> np.ndarray:
    v = _concrete(v)
    if 1 not in v.shape:
        raise NotationError(f"expected a vector, got {v.shape}")
    return v.reshape(-1, 1)


def _size(v) -> int:
    v = _concrete(v)
    n = float(v.reshape(-1)[0]) if v.size == 1 else math.nan
    if not n.is_integer() or n < 1:
        raise NotationError(f"a size must be a positive integer, not {v}")
    return int(n)


def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def _commutation(m: int, n: int) -> np.ndarray:
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[j * m + i, i * n + j] = 1.0
    return k


_ELEMENTWISE = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "tanh": np.tanh, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0.0),
    "abs": np.abs, "step": lambda z: np.where(z > 0, 1.0, 0.0), "sign": np.sign,
}
_REDUCTIONS = {
    "sum": np.sum, "mean": np.mean, "norm": lambda z: np.sqrt(np.sum(z * z)),
    "logsumexp": lambda z: np.max(z) + np.log(np.sum(np.exp(z - np.max(z)))),
}


def _scalar(x) -> np.ndarray:
    return np.array([[float(x)]])


def as_column_value(v) -> np.ndarray:
    """A value as the papers hold it: scalar 1×1, vector n×1, matrix as is."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    return a


class ColumnEvaluation:
    """Evaluates a tree at `env` (name -> value) with column-vector semantics."""

    def __init__(self, env: dict):
        self.env = {k: as_column_value(v) for k, v in env.items()}

    def lookup(self, name: str):
        plain = name.translate(SUBSCRIPTS)
        lowered = re.sub(r"_(\d+)$", lambda m: m.group(1).translate(_TO_SUBSCRIPTS), plain)
        for candidate in (name, name.replace("_", ""), plain, plain.replace("_", ""), lowered):
            if candidate in self.env:
                return self.env[candidate]
        if name == "I":
            return identity()
        raise NotationError(f"unknown name {name!r}")

    def __call__(self, node):
        op = node[0]
        if op == "num":
            return _scalar(node[1])
        if op == "name":
            return self.lookup(node[1])
        if op == "ones":
            return ones_column()
        if op == "call":
            return self.call(node[1], [self(a) for a in node[2:]])
        if op == "vector":
            items = [self(a) for a in node[1:]]
            if all(_is_scalar(x) for x in items):
                return np.array([[float(x[0, 0])] for x in items])     # [a, b, c]: a column
            if all(a[0] == "vector" for a in node[1:]):     # [[a, b], [c, d]]: rows
                return _blocks([[x.T if x.shape[1] == 1 else x]
                                for a, x in zip(node[1:], map(_concrete, items))])
            return _blocks([items])
        if op == "block":
            return _blocks([[self(a) for a in row] for row in node[1:]])
        args = [self(a) for a in node[1:]]
        if op == "neg":
            return _elementwise(args[0], _scalar(-1.0), np.multiply, "negation")
        if op == "transpose":
            return args[0].transposed() if isinstance(args[0], Lazy) else args[0].T
        a, b = args
        if op == "add":
            return _elementwise(a, b, np.add, "sum")
        if op == "sub":
            return _elementwise(a, b, np.subtract, "difference")
        if op == "had":
            return _elementwise(a, b, np.multiply, "element-wise product")
        if op == "div":
            return _elementwise(a, b, np.divide, "division")
        if op == "pow":
            return _elementwise(a, b, np.power, "power")
        if op == "juxt":
            return _matmul(a, b)
        if op == "scale":
            return _scale_or_dot(a, b)
        if op == "kron":
            return _kron(a, b)
        raise AssertionError(op)

    def call(self, name: str, args: list):
        if name in _ELEMENTWISE:
            (a,) = args
            f = _ELEMENTWISE[name]
            return a.map(f) if isinstance(a, Lazy) else f(a)
        if name in ("max", "min"):
            return _elementwise(*args, np.maximum if name == "max" else np.minimum, name)
        if name in _REDUCTIONS:
            (a,) = args
            return _scalar(_REDUCTIONS[name](_concrete(a)))
        if name == "softmax":
            return _softmax(_concrete(args[0]))
        if name == "diag":
            return np.diag(_column(args[0]).reshape(-1))
        if name == "vec":
            return _vec(args[0])
        if name == "kron":
            return _kron(*args)
        if name == "dot":
            return _dot(*args)
        if name == "commutation":
            return _commutation(*(_size(a) for a in args))
        if name == "eye":
            return np.eye(_size(args[0]))
        if name == "ones":
            sizes = [_size(a) for a in args]
            return np.ones((sizes[0], sizes[1] if len(sizes) > 1 else 1))
        if name == "zeros":
            sizes = [_size(a) for a in args]
            return np.zeros((sizes[0], sizes[1] if len(sizes) > 1 else 1))
        raise NotationError(f"unknown function {name!r}")


def sized(v, shape) -> np.ndarray:
    """The value at the expected [rows, cols]: a lazy value takes that size; a literal 0
    (1×1 zero) stands for the zero matrix of any size."""
    rows, cols = shape
    if isinstance(v, Lazy):
        try:
            return _concrete(v.sized(rows, cols))
        except NeedsSize as e:          # [𝟏ᵀ/9; 0] beside [0; 𝟏ᵀ/3]: which 𝟏 is how long?
            raise NotationError(f"cannot tell the sizes of its blocks: {e}") from None
    if v.shape == (1, 1) and (rows, cols) != (1, 1) and v[0, 0] == 0:
        return np.zeros((rows, cols))
    if v.shape != (rows, cols):
        raise NotationError(f"reads as {v.shape[0]}×{v.shape[1]}, not {rows}×{cols}")
    return v


def evaluate(text: str, notation: str, env: dict, shape, convention: str = FLAT,
             where: dict | None = None, split=None) -> np.ndarray:
    """`text` (notation "unicode" or "latex") at `env`, sized to `shape`; `where` binds names
    the form defines once (u₁ = …), in order, each in the same notation; `split`: (heights,
    widths) of the blocks of a Jacobian with respect to several variables, one per variable
    ([∂f/∂A, ∂f/∂x] is as wide as vec(A), then x), None for a side with one block."""
    read = read_unicode if notation == "unicode" else read_latex
    evaluation = ColumnEvaluation(env)
    for name, definition in (where or {}).items():
        value = evaluation(read(definition, convention))
        # a definition such as u₂ = 𝟏 xᵀ is sized where it is used, as a reader sizes it
        evaluation.env[name] = value
    tree = read(text, convention)
    with np.errstate(all="ignore"):
        value = evaluation(tree)
    if tree[0] == "vector" and shape[0] == 1 and not isinstance(value, Lazy) and value.shape[1] == 1:
        value = value.T          # ∇f = [6xy, 3x²]: a list of scalars is a row where one is due
    if split is not None and getattr(value, "blocks", None) is not None:
        try:
            value = assemble_blocks(value.blocks, shape, scalar=_is_scalar, split=split)
        except ValueError as e:
            raise NotationError(f"its blocks are not one per variable: {e}") from None
    return sized(value, shape)


def paper_value(text: str, notation: str, env: dict, shape, where: dict | None = None,
                split=None) -> np.ndarray:
    """The form's value, read every way the papers' precedence allows; they must agree."""
    readings = []
    for convention in CONVENTIONS:
        try:
            readings.append(evaluate(text, notation, env, shape, convention, where, split))
        except NotationError as e:
            raise NotationError(f"read with {convention}: {e}") from None
    first = readings[0]
    for convention, other in zip(CONVENTIONS[1:], readings[1:]):
        if first.shape != other.shape or not np.allclose(first, other, rtol=1e-9, atol=1e-12,
                                                         equal_nan=True):
            raise NotationError(f"{text!r} reads two ways ({FLAT}; {convention}): "
                                f"{first.tolist()} or {other.tolist()}")
    return first
