"""Structured Jacobians: a small closed set of kinds and the constructors that combine them.

Kinds (numerator layout, `rows x cols`): Zero, Identity, Scaled (c·I), Diagonal (diag(d)),
Row (vᵀ), Column (v), Scalar (1x1), Matrix (a matrix expression such as W), Kron
(A ⊗ B, for row-major vec of matrices), and the lazy Sum, Product and Stack.
Payloads are `Expr` closed forms, so a Jacobian can be printed, evaluated, or
differentiated again.

`jmul`, `jsum`, `scale` and `hstack`/`vstack` simplify as they combine (I·J = J, 0·J = 0,
diag(a)·diag(b) = diag(a⊙b), 1ᵀ·diag(d) = dᵀ, ...), so `diagonal` and `structure` are
properties of the kind, decided by the derivation, never by numbers.
"""
from __future__ import annotations

from fractions import Fraction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from . import expr as E
from . import sizes
from .algebra import Algebra, row_form
from .expr import Expr
from .notation import ASCII, MUL, Style, follows_matmul_bare, function_form, show

# At the top of a closed form, where the Jacobian's shape is stated beside it, the identity
# and the ones vector are the papers' bare I and 1 (I, z*I, 1ᵀ for sum(x)); inside a larger
# form they carry their size (eye(3), ones(n)), so that the form reads back.
TOP = ASCII.but(name="ascii-top", ones="1", eye="I")


def inner(style: Style) -> Style:
    return ASCII if style is TOP else style

STRUCTURES = ("zero", "identity", "scaled_identity", "diagonal", "dense")


class Jacobian:
    kind = "jacobian"
    structure = "dense"
    rows: sizes.Size
    cols: sizes.Size

    @property
    def diagonal(self) -> bool:
        return self.rows == 1 and self.cols == 1

    @property
    def T(self) -> "Jacobian":
        raise NotImplementedError

    def form(self, style: Style = TOP) -> str:
        raise NotImplementedError

    def parts(self) -> tuple:
        """What identifies this Jacobian (for equality)."""
        return (self.rows, self.cols)

    def __eq__(self, other):
        return type(self) is type(other) and self.parts() == other.parts()

    def __hash__(self):
        return hash((type(self).__name__, self.parts()))

    def __repr__(self):
        return f"{type(self).__name__}<{self.rows}x{self.cols}>({self.form()})"


class Zero(Jacobian):
    kind = "zero"
    structure = "zero"

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    @property
    def diagonal(self) -> bool:
        return self.rows == self.cols

    @property
    def T(self) -> Jacobian:
        return Zero(self.cols, self.rows)

    def form(self, style=TOP):
        if style is ASCII:                        # inside a larger form: sized, to read back
            return show(E.zeros((self.rows, self.cols)), style)
        return "0"


class Identity(Jacobian):
    kind = "identity"
    structure = "identity"
    diagonal = True

    def __init__(self, n):
        self.rows = self.cols = n

    @property
    def T(self) -> Jacobian:
        return self

    def form(self, style=TOP):
        if self.rows == 1:
            return "1"
        return show(E.eye(self.rows), style)


class Scaled(Jacobian):
    """c·I with c a scalar expression."""

    kind = "scaled_identity"
    structure = "scaled_identity"
    diagonal = True

    def __init__(self, c: Expr, n):
        self.c, self.rows, self.cols = c, n, n

    def parts(self):
        return (self.c, self.rows)

    @property
    def T(self) -> Jacobian:
        return self

    def form(self, style=TOP):
        eye = show(E.eye(self.rows), style)
        if E.is_number(self.c) and self.c.value == -1:
            return "-" + eye
        c = self.c
        if c.op == "div" and E.is_one(c.args[0]):                   # I/‖x‖
            return eye + style.div + show(c.args[1], inner(style), MUL + 1)
        return show(c, inner(style), MUL) + style.scale + eye


class Diagonal(Jacobian):
    kind = "diagonal"
    structure = "diagonal"
    diagonal = True

    def __init__(self, d: Expr):
        self.d = d
        self.rows = self.cols = d.shape[0]

    def parts(self):
        return (self.d,)

    @property
    def T(self) -> Jacobian:
        return self

    def form(self, style=TOP):
        return function_form("diag", show(self.d, inner(style)), style)


class Row(Jacobian):
    """vᵀ: one row, the gradient of a scalar."""

    kind = "row"

    def __init__(self, v: Expr):
        self.v = v
        self.rows, self.cols = 1, v.shape[0]

    def parts(self):
        return (self.v,)

    @property
    def T(self) -> Jacobian:
        return Column(self.v)

    def form(self, style=TOP):
        return show(row_form(self.v), _short_ones(self.v, style))


class Column(Jacobian):
    """v: one column, the derivative with respect to a scalar."""

    kind = "column"

    def __init__(self, v: Expr):
        self.v = v
        self.rows, self.cols = v.shape[0], 1

    def parts(self):
        return (self.v,)

    @property
    def T(self) -> Jacobian:
        return Row(self.v)

    def form(self, style=TOP):
        return show(self.v, _short_ones(self.v, style))


class Scalar(Jacobian):
    """A 1x1 Jacobian: the derivative of a scalar with respect to a scalar."""

    kind = "scalar"

    def __init__(self, c: Expr):
        self.c = c
        self.rows = self.cols = 1

    def parts(self):
        return (self.c,)

    @property
    def T(self) -> Jacobian:
        return self

    def form(self, style=TOP):
        return show(self.c, inner(style))


class Matrix(Jacobian):
    """A Jacobian that is a matrix-valued expression, such as W."""

    kind = "matrix"

    def __init__(self, m: Expr):
        self.m = m
        self.rows, self.cols = m.shape

    def parts(self):
        return (self.m,)

    @property
    def T(self) -> Jacobian:
        return as_jacobian(E.transpose(self.m), self.cols, self.rows)

    def form(self, style=TOP):
        return show(self.m, inner(style))


class Kron(Jacobian):
    """A ⊗ B, the Kronecker product (row-major vec of matrix products)."""

    kind = "kron"

    def __init__(self, a: Jacobian, b: Jacobian):
        self.a, self.b = a, b
        self.rows = sizes.mul(a.rows, b.rows)
        self.cols = sizes.mul(a.cols, b.cols)

    def parts(self):
        return (self.a, self.b)

    @property
    def T(self) -> Jacobian:
        return kron(self.a.T, self.b.T)

    def form(self, style=TOP):
        if style.ascii:
            return f"kron({self.a.form(inner(style))}, {self.b.form(inner(style))})"
        symbol = " \\otimes " if style.latex else " ⊗ "
        return _kron_factor(self.a, style) + symbol + _kron_factor(self.b, style)


class Commutation(Jacobian):
    """K with vec(Aᵀ) = K·vec(A) for an m x n matrix A (row-major vec): a permutation."""

    kind = "commutation"

    def __init__(self, m, n):
        self.m, self.n = m, n
        self.rows = self.cols = sizes.mul(m, n)

    def parts(self):
        return (self.m, self.n)

    @property
    def T(self) -> Jacobian:
        return commutation(self.n, self.m)

    def form(self, style=TOP):
        if style.latex:
            return f"K_{{{self.m},{self.n}}}"
        return f"commutation({self.m}, {self.n})"


class Sum(Jacobian):
    kind = "sum"

    def __init__(self, terms):
        self.terms = tuple(terms)
        self.rows, self.cols = self.terms[0].rows, self.terms[0].cols

    def parts(self):
        return self.terms

    @property
    def T(self) -> Jacobian:
        return jsum(*(t.T for t in self.terms))

    def form(self, style=TOP):
        out = []
        for i, t in enumerate(self.terms):
            negative = negated(t)
            if negative is not None:
                body = _factor(negative, style) if isinstance(negative, (Sum,)) else negative.form(inner(style))
                out.append(("-" if i == 0 else " - ") + body)
            else:
                out.append(("" if i == 0 else " + ") + t.form(inner(style)))
        return "".join(out)


class Product(Jacobian):
    kind = "product"

    def __init__(self, factors):
        self.factors = tuple(factors)
        self.rows, self.cols = self.factors[0].rows, self.factors[-1].cols

    def parts(self):
        return self.factors

    @property
    def T(self) -> Jacobian:
        out = self.factors[-1].T
        for f in reversed(self.factors[:-1]):
            out = jmul(out, f.T)
        return out

    def form(self, style=TOP):
        return style.matmul.join(_factor(f, style, i == 0) for i, f in enumerate(self.factors))


class Stack(Jacobian):
    """Blocks side by side (axis 'h': --wrt x,y) or one above another ('v': [a, b])."""

    kind = "stack"

    def __init__(self, blocks, axis: str):
        self.blocks, self.axis = tuple(blocks), axis
        if axis == "h":
            self.rows = self.blocks[0].rows
            self.cols = sizes.total(b.cols for b in self.blocks)
        else:
            self.rows = sizes.total(b.rows for b in self.blocks)
            self.cols = self.blocks[0].cols

    def parts(self):
        return (self.axis,) + self.blocks

    @property
    def T(self) -> Jacobian:
        return Stack([b.T for b in self.blocks], "v" if self.axis == "h" else "h")

    def form(self, style=TOP):
        grid = entry_grid(self)
        if grid is not None and style.latex:
            rows = [" & ".join(show(e, style) for e in row) for row in grid]
            return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
        if grid is not None:
            rows = ["[" + ", ".join(show(e, inner(style)) for e in row) + "]" for row in grid]
            return "[" + ", ".join(rows) + "]"
        blocks = ", ".join(b.form(inner(style)) for b in self.blocks)
        if style.ascii:                 # input: jac reads hstack and vstack
            return ("hstack" if self.axis == "h" else "vstack") + f"({blocks})"
        sep = ", " if self.axis == "h" else "; "
        return "[" + sep.join(b.form(inner(style)) for b in self.blocks) + "]"


def _short_ones(v: Expr, style: Style) -> Style:
    """A row or column of ones alone at the top of a form (1, -1, 1') reads as the papers'."""
    if v.op == "neg":
        v = v.args[0]
    return style if v.op == "ones" else inner(style)


def _kron_factor(j: Jacobian, style: Style) -> str:
    """A side of ⊗ in the papers' notation: bare when it is one symbol (I, x, xᵀ, W, K),
    else in parentheses, since ⊗ and juxtaposition do not say which binds first."""
    text = j.form(inner(style))
    payload = next((getattr(j, k) for k in ("v", "m", "c", "d") if hasattr(j, k)), None)
    if isinstance(j, (Identity, Commutation, Zero)) or (
            payload is not None and not isinstance(j, Diagonal) and
            (payload.op == "var" or payload.op == "transpose" and payload.args[0].op == "var")):
        return text
    return (r"\left(" + text + r"\right)") if style.latex else f"({text})"


def _factor(j: Jacobian, style: Style, first: bool = True) -> str:
    """A factor of a product of Jacobians; in the papers' notation an element-wise product
    or quotient of matrices (A ⊘ B) is bracketed, as juxtaposition would bind into it; in
    the input language a later factor that is itself a product is bracketed unless '@' may
    take it bare (notation.follows_matmul_bare)."""
    text = j.form(inner(style))
    payload = getattr(j, _PAYLOAD.get(type(j), ""), None)
    matrix = payload if isinstance(j, Matrix) else None
    if isinstance(j, Sum) or (isinstance(j, (Scaled,)) and not text.startswith("-")) \
            or text.startswith("-") or (isinstance(j, Kron) and not style.ascii) \
            or (matrix is not None and matrix.op in ("add", "neg", "mul", "div")) \
            or (not first and inner(style).ascii and isinstance(j, (Matrix, Column))
                and payload is not None and payload.op == "matmul"
                and not follows_matmul_bare(payload)):
        return f"({text})"
    return text


# ---------------------------------------------------------------- helpers

def scalar_entry(j: Jacobian):
    """The single entry of a 1x1 Jacobian as an expression, or None."""
    if isinstance(j, Scalar):
        return j.c
    if isinstance(j, Identity) and j.rows == 1:
        return E.ONE
    if isinstance(j, Zero) and j.rows == 1 and j.cols == 1:
        return E.ZERO
    if isinstance(j, Scaled) and j.rows == 1:
        return j.c
    return None


def entry_grid(j: Jacobian):
    """Rows of scalar expressions when `j` is small and built from scalars, else None."""
    c = scalar_entry(j)
    if c is not None:
        return [[c]]
    if isinstance(j, Column) and j.v.op == "vector":
        return [[a] for a in j.v.args]
    if isinstance(j, Row) and j.v.op == "vector":
        return [list(j.v.args)]
    if isinstance(j, Stack):
        grids = [entry_grid(b) for b in j.blocks]
        if any(g is None for g in grids):
            return None
        if j.axis == "v":
            return [row for g in grids for row in g]
        return [sum((g[i] for g in grids), []) for i in range(len(grids[0]))]
    return None


def negated(j: Jacobian):
    """-j as a Jacobian when j is visibly negative (so a sum prints `A - B`), else None."""
    def neg_expr(e: Expr):
        if e.op == "neg":
            return e.args[0]
        if e.op == "num" and e.value < 0:
            return E.num(-e.value)
        if e.op == "mul" and E.is_number(e.args[0]) and e.args[0].value < 0:
            return E.mul(E.num(-e.args[0].value), e.args[1])
        return None

    if isinstance(j, Scaled):
        c = neg_expr(j.c)
        return None if c is None else scaled(c, j.rows)
    for cls, attr in ((Diagonal, "d"), (Row, "v"), (Column, "v"), (Scalar, "c"), (Matrix, "m")):
        if isinstance(j, cls):
            inner = neg_expr(getattr(j, attr))
            return None if inner is None else cls(inner)
    if isinstance(j, Product):
        for i, f in enumerate(j.factors):
            flipped = negated(f)
            if flipped is not None:
                kept = [f for f in (*j.factors[:i], flipped, *j.factors[i + 1:])
                        if not isinstance(f, Identity)]
                return _product(kept)
    return None


# ---------------------------------------------------------------- smart constructors

def scaled(c: Expr, n) -> Jacobian:
    if E.is_zero(c):
        return Zero(n, n)
    if E.is_one(c):
        return Identity(n)
    if n == 1:
        return Scalar(c)
    return Scaled(c, n)


def diagonal(d: Expr, n) -> Jacobian:
    """diag(d) for a vector d of length n; a scalar d means d·I."""
    if d.shape == ():
        return scaled(d, n)
    if E.is_zero(d):
        return Zero(n, n)
    if E.is_one(d):
        return Identity(n)
    if d.op == "mul" and d.args[1].op == "ones" and d.args[0].shape == ():    # diag(c·𝟏) = c·I
        return scaled(d.args[0], n)
    if d.op == "div" and d.args[0].op == "ones" and d.args[1].shape == ():    # diag(𝟏/c) = I/c
        return scaled(E.div(E.ONE, d.args[1]), n)
    return Diagonal(d)


def row(v: Expr, n) -> Jacobian:
    if E.is_zero(v):
        return Zero(1, n)
    if n == 1 and v.shape == (1,) and v.op != "ones":
        return Row(v)
    return Row(E.fit(v, (n,)))


def column(v: Expr, n) -> Jacobian:
    if E.is_zero(v):
        return Zero(n, 1)
    return Column(E.fit(v, (n,)))


def scalar(c: Expr) -> Jacobian:
    return scaled(c, 1)


def as_jacobian(m: Expr, rows, cols) -> Jacobian:
    """A matrix-valued expression as the right kind."""
    if E.is_zero(m):
        return Zero(rows, cols)
    if m.op == "eye":
        return Identity(rows)
    if m.op == "diag":
        return diagonal(m.args[0], rows)
    if m.op == "mul" and m.args[0].shape == () and m.args[1].op in ("eye", "diag"):
        return scale(as_jacobian(m.args[1], rows, cols), m.args[0])
    if m.shape == ():
        return scalar(m)
    if len(m.shape) == 1:
        return row(m, cols) if rows == 1 and m.shape[0] == cols else column(m, rows)
    if m.shape[0] == 1:                               # a 1×n matrix such as xᵀ or xᵀA is a row
        return row(E.vec(m), cols)
    return Matrix(m)


def commutation(m, n) -> Jacobian:
    """vec(Aᵀ) = K vec(A); for a row or a column (m or n = 1) K is the identity."""
    if m == 1 or n == 1:
        return Identity(sizes.mul(m, n))
    return Commutation(m, n)


def kron(a: Jacobian, b: Jacobian) -> Jacobian:
    if isinstance(a, Zero) or isinstance(b, Zero):
        return Zero(sizes.mul(a.rows, b.rows), sizes.mul(a.cols, b.cols))
    if a.rows == 1 and a.cols == 1:
        c = scalar_entry(a)
        if c is not None:
            return scale(b, c)
    if b.rows == 1 and b.cols == 1:
        c = scalar_entry(b)
        if c is not None:
            return scale(a, c)
    if isinstance(a, Identity) and isinstance(b, Identity):
        return Identity(sizes.mul(a.rows, b.rows))
    return Kron(a, b)


def scale(j: Jacobian, c: Expr) -> Jacobian:
    """c·J for a scalar expression c."""
    if E.is_zero(c):
        return Zero(j.rows, j.cols)
    if E.is_one(c):
        return j
    if isinstance(j, Zero):
        return j
    if isinstance(j, Identity):
        return scaled(c, j.rows)
    if isinstance(j, Scaled):
        return scaled(E.mul(c, j.c), j.rows)
    if isinstance(j, Diagonal):
        return diagonal(E.mul(c, j.d), j.rows)
    if isinstance(j, Row):
        return row(E.mul(c, j.v), j.cols)
    if isinstance(j, Column):
        return column(E.mul(c, j.v), j.rows)
    if isinstance(j, Scalar):
        return scalar(E.mul(c, j.c))
    if isinstance(j, Matrix):
        return as_jacobian(E.mul(c, j.m), j.rows, j.cols)
    if isinstance(j, Sum):
        return jsum(*(scale(t, c) for t in j.terms))
    if isinstance(j, Product):
        return _product([scale(j.factors[0], c)] + list(j.factors[1:]))
    if isinstance(j, Stack):
        return Stack([scale(b, c) for b in j.blocks], j.axis)
    if isinstance(j, Kron):
        return kron(scale(j.a, c), j.b)
    if isinstance(j, Commutation):
        return Product((scaled(c, j.rows), j))
    raise AssertionError(type(j))


def jsum(*terms: Jacobian) -> Jacobian:
    """J₁ + J₂ + ..., merging terms of one kind (diagonals with diagonals, rows with rows)."""
    if len(terms) == 1 and not isinstance(terms[0], Sum):   # the chain rule's one path
        return terms[0]
    flat: list[Jacobian] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Sum) else (t,))
    rows, cols = flat[0].rows, flat[0].cols
    flat = [t for t in flat if not isinstance(t, Zero)]
    if not flat:
        return Zero(rows, cols)

    diag_like = [t for t in flat if isinstance(t, (Identity, Scaled, Diagonal))]
    merged: list[Jacobian] = []
    if len(diag_like) > 1 and rows != 1:
        payload = E.add(*(_diag_payload(t) for t in diag_like))
        merged.append(diagonal(payload, rows))
        flat = [t for t in flat if not isinstance(t, (Identity, Scaled, Diagonal))]
    for cls, attr, make in ((Row, "v", lambda e: row(e, cols)), (Column, "v", lambda e: column(e, rows)),
                            (Scalar, "c", scalar), (Matrix, "m", lambda e: as_jacobian(e, rows, cols))):
        group = [t for t in flat if type(t) is cls]
        if len(group) > 1:
            merged.append(make(E.add(*(getattr(t, attr) for t in group))))
            flat = [t for t in flat if type(t) is not cls]
    flat = _collected(flat)
    if rows == 1 and cols == 1:
        entries = [scalar_entry(t) for t in flat + merged]
        if all(e is not None for e in entries) and len(entries) > 1:
            return scalar(E.add(*entries))
    out = [t for t in flat + merged if not isinstance(t, Zero)]
    if not out:
        return Zero(rows, cols)
    if len(out) == 1:
        return out[0]
    return Sum(out)


_PAYLOAD_KINDS = (Identity, Scaled, Diagonal, Row, Column, Scalar, Matrix)


def _collected(terms: list) -> list:
    """Like terms of the kinds whose payloads do not simply add, collected:
    D₁·T + D₂·T = (D₁ + D₂)·T for diagonal-like heads D and a shared tail T (a commutation,
    a product), and A₁ ⊗ B + A₂ ⊗ B = (A₁ + A₂) ⊗ B; a sum that is zero is dropped. So
    K - K = 0 and W@x - W@x gives 0: what cancels leaves no weaker structure behind.
    (The kinds with a payload add up by payload in `jsum`.) Terms keep their order."""
    groups: dict = {}
    for i, t in enumerate(terms):
        key: Any     # the position, or what the terms share
        if isinstance(t, _PAYLOAD_KINDS):
            key = i
        elif isinstance(t, Kron):
            key = ("kron", t.b)
        else:
            key = _head_and_tail(t)[1]
        groups.setdefault(key, []).append(t)
    out = []
    for key, group in groups.items():
        if len(group) == 1:
            out.extend(group)
            continue
        if isinstance(group[0], Kron):
            combined = kron(jsum(*(t.a for t in group)), group[0].b)
        else:
            head = jsum(*(_head_and_tail(t)[0] for t in group))
            combined = head if isinstance(head, Zero) else jmul(head, key)
        if not isinstance(combined, Zero):
            out.append(combined)
    return out


def _head_and_tail(t: Jacobian) -> tuple:
    """t = D·T with D diagonal-like (I when t shows none)."""
    if isinstance(t, Product) and isinstance(t.factors[0], (Identity, Scaled, Diagonal)):
        return t.factors[0], _product(list(t.factors[1:]))
    return Identity(t.rows), t


def _diag_payload(t: Jacobian) -> Expr:
    if isinstance(t, Identity):
        return E.ONE
    if isinstance(t, Scaled):
        return t.c
    assert isinstance(t, Diagonal), "a diagonal-like Jacobian"
    return t.d


def jmul(a: Jacobian, b: Jacobian) -> Jacobian:
    """The matrix product A·B of two Jacobians (the vector chain rule)."""
    assert a.cols == b.rows, (a, b)
    simple = _combine(a, b)
    if simple is not None:
        return simple
    factors = list(a.factors) if isinstance(a, Product) else [a]
    for f in (b.factors if isinstance(b, Product) else (b,)):
        factors.append(f)
        while len(factors) > 1:
            conjugated = _conjugated(*factors[-3:]) if len(factors) > 2 else None
            if conjugated is not None:
                factors[-3:] = [conjugated]
                continue
            joined = _combine(factors[-2], factors[-1])
            if joined is None or isinstance(joined, Product):
                break
            factors[-2:] = [joined]
    return _product(factors)


def _commutation_into_sum(a: Jacobian, b: Jacobian):
    """K·(J₁ + J₂) = K·J₁ + K·J₂ (and (J₁ + J₂)·K), taken only when every term then
    simplifies (K·diag(d)·Kᵀ, K·Kᵀ): K(A'*B' + A')' is diag(vec(B)) + I, not dense."""
    if isinstance(a, Commutation) and isinstance(b, Sum):
        terms = [jmul(a, t) for t in b.terms]
    elif isinstance(a, Sum) and isinstance(b, Commutation):
        terms = [jmul(t, b) for t in a.terms]
    else:
        return None
    if any(isinstance(t, (Product, Commutation)) for t in terms):
        return None
    return jsum(*terms)


def _conjugated(k: Jacobian, d: Jacobian, k_inverse: Jacobian):
    """K(p,q)·diag(d)·K(q,p) = diag(K(p,q)·d): a permutation conjugating a diagonal is
    diagonal; with d = vec(P) for a p x q matrix P, K(p,q)·d = vec(Pᵀ). None otherwise."""
    if not (isinstance(k, Commutation) and isinstance(k_inverse, Commutation)
            and (k_inverse.m, k_inverse.n) == (k.n, k.m)):
        return None
    if isinstance(d, (Identity, Scaled)):
        return d
    if isinstance(d, Diagonal):
        permuted = _commuted(d.d, k.m, k.n)
        return None if permuted is None else diagonal(permuted, d.rows)
    return None


_ELEMENTWISE = ("add", "neg") + E.ELEMENTWISE_BINARY + E.ELEMENTWISE_FUNCTIONS


def _commuted(d: Expr, p, q):
    """K(p,q)·d as an expression, when d is built element-wise from scalars and vecs of
    p x q matrices: K(p,q)·vec(P) = vec(Pᵀ), and K commutes with element-wise operations."""
    if d.shape == () or d.op in ("ones", "zeros"):
        return d
    if d.op == "vec" and d.args[0].shape == (p, q):
        return E.vec(_transposed(d.args[0]))
    if d.op in _ELEMENTWISE:
        args = [_commuted(a, p, q) for a in d.args]
        if any(a is None for a in args):
            return None
        return E.typed(d.op, args, None if d.op == "add" else d.value)
    return None


def _transposed(m: Expr) -> Expr:
    """mᵀ with the transpose taken inside element-wise operations: f(Aᵀ)ᵀ = f(A)."""
    if m.op in _ELEMENTWISE:
        return E.typed(m.op, [a if a.shape == () else _transposed(a) for a in m.args],
                       None if m.op == "add" else m.value)
    return E.transpose(m)


def _combine(a: Jacobian, b: Jacobian):
    """A·B as a simpler kind when an identity of matrix calculus applies, else None."""
    rows, cols = a.rows, b.cols
    if isinstance(a, Zero) or isinstance(b, Zero):
        return Zero(rows, cols)
    if isinstance(a, Identity):
        return b
    if isinstance(b, Identity):
        return a
    for left, right in ((a, b), (b, a)):
        c = left.c if isinstance(left, Scaled) else scalar_entry(left)
        if c is not None:
            return scale(right, c)
    if isinstance(a, Diagonal) and isinstance(b, Diagonal):
        return diagonal(E.mul(a.d, b.d), rows)
    if isinstance(a, Row) and isinstance(b, Diagonal):
        return row(E.mul(a.v, b.d), cols)
    if isinstance(a, Diagonal) and isinstance(b, Column):
        return column(E.mul(a.d, b.v), rows)
    if isinstance(a, Row) and isinstance(b, Column):
        return scalar(E.dot(a.v, b.v))
    if isinstance(a, Column) and isinstance(b, Row) and a.rows != 1:
        return Matrix(E.matmul(a.v, E.transpose(b.v)))           # u vᵀ, the outer product
    if isinstance(a, Diagonal) and isinstance(b, Matrix) and _outer(b.m):
        c, (u, r) = _outer(b.m)                                  # diag(d) u vᵀ = (d ⊙ u) vᵀ
        return scale(Matrix(E.matmul(E.mul(a.d, u), r)), E.num(c))
    if isinstance(a, Matrix) and isinstance(b, Diagonal) and _outer(a.m):
        c, (u, r) = _outer(a.m)                                  # u vᵀ diag(d) = u (v ⊙ d)ᵀ
        return scale(Matrix(E.matmul(u, E.transpose(E.mul(E.transpose(r), b.d)))), E.num(c))
    if isinstance(a, Row) and isinstance(b, Kron):
        return _row_times_kron(a, b)
    if isinstance(a, Row) and isinstance(b, Commutation):      # uᵀK = vec(Uᵀ)ᵀ
        u = unvec(a.v, b.n, b.m)
        if u is not None:
            return row(E.vec(E.transpose(u)), cols)
    if isinstance(a, Kron) and isinstance(b, Column):
        done = _kron_times_column(a, b)
        if done is not None:
            return done
    if isinstance(a, Row) and isinstance(b, Matrix):
        return row(E.matmul(a.v, b.m), cols)
    if isinstance(a, Matrix) and isinstance(b, Column):
        return column(E.matmul(a.m, b.v), rows)
    if isinstance(a, Matrix) and isinstance(b, Matrix):
        return as_jacobian(E.matmul(a.m, b.m), rows, cols)
    if isinstance(b, Sum) and (a.rows == 1 or isinstance(a, Diagonal)):
        return jsum(*(jmul(a, t) for t in b.terms))
    if isinstance(a, Sum) and (b.cols == 1 or isinstance(b, Diagonal)):
        return jsum(*(jmul(t, b) for t in a.terms))
    distributed = _commutation_into_sum(a, b)
    if distributed is not None:
        return distributed
    if isinstance(a, Row) and isinstance(b, Stack) and b.axis == "v" \
            and all(blk.rows == 1 for blk in b.blocks):
        weights = _entries(a.v, len(b.blocks))
        if weights is not None:                                  # Σₖ uₖ·(row k)
            return jsum(*(scale(blk, w) for blk, w in zip(b.blocks, weights)))
    if isinstance(b, Stack) and b.axis == "h":
        return hstack([jmul(a, blk) for blk in b.blocks])
    if isinstance(a, Stack) and a.axis == "v":
        return vstack([jmul(blk, b) for blk in a.blocks])
    if isinstance(a, Commutation) and isinstance(b, Commutation) and (a.m, a.n) == (b.n, b.m):
        return Identity(rows)                                   # K(n,m)·K(m,n) = I
    if isinstance(a, Kron) and isinstance(b, Commutation) and isinstance(a.a, Identity) \
            and isinstance(a.b, Row) and (b.m, b.n) == (a.b.cols, a.a.rows):
        return kron(a.b, a.a)                                  # (I ⊗ vᵀ)·K(m,n) = vᵀ ⊗ I
    if isinstance(a, Kron) and isinstance(b, Commutation) and isinstance(a.b, Identity) \
            and isinstance(a.a, Row) and (b.m, b.n) == (a.b.rows, a.a.cols):
        return kron(a.b, a.a)                                  # (vᵀ ⊗ I)·K(n,m) = I ⊗ vᵀ
    if isinstance(a, Commutation) and isinstance(b, Column) and b.v.op == "vec":
        return column(E.vec(E.transpose(b.v.args[0])), rows)   # K·vec(P) = vec(Pᵀ)
    if isinstance(a, Kron) and isinstance(b, Kron) and a.a.cols == b.a.rows and a.b.cols == b.b.rows:
        return kron(jmul(a.a, b.a), jmul(a.b, b.b))
    return None


def _entries(v: Expr, n: int):
    """The n entries of a vector written entry by entry (𝟏, [a, b], c·𝟏, 𝟏/c, -v), or None."""
    if v.op == "ones":
        return [E.ONE] * n
    if v.op == "vector":
        return list(v.args)
    if v.op == "neg":
        inner = _entries(v.args[0], n)
        return None if inner is None else [E.neg(w) for w in inner]
    if v.op in ("mul", "div") and v.args[1 if v.op == "div" else 0].shape == ():
        k = 0 if v.op == "div" else 1
        inner = _entries(v.args[k], n)
        if inner is None:
            return None
        return [E.div(w, v.args[1]) if v.op == "div" else E.mul(v.args[0], w) for w in inner]
    return None


def _outer(m: Expr):
    """m = c·(u vᵀ) for a number c: (c, (u, vᵀ)), else None."""
    c, core = E.coefficient(m)
    if core.op == "matmul" and len(core.args[0].shape) == 1 and len(core.shape) == 2:
        return c, core.args
    return None


def as_matrix(j: Jacobian):
    """The matrix a Jacobian stands for, as an expression (a column is a vector), or None."""
    if isinstance(j, Identity):
        return E.eye(j.rows)
    if isinstance(j, Scaled):
        return E.mul(j.c, E.eye(j.rows))
    if isinstance(j, Diagonal):
        return E.typed("diag", (j.d,))
    if isinstance(j, Row):
        return E.transpose(j.v)
    if isinstance(j, Column):
        return j.v
    if isinstance(j, Matrix):
        return j.m
    return None


def unvec(v: Expr, p, q):
    """The p x q matrix whose row-major flattening is v (a column when q = 1), or None."""
    if q == 1:
        return v
    if p == 1:
        return E.transpose(v)
    if v.op == "vec" and v.args[0].shape == (p, q):
        return v.args[0]
    if v.op == "ones":
        return E.ones((p, q))
    scalar_side = {"neg": None, "mul": 0, "div": 1}.get(v.op, -1)
    if scalar_side != -1 and (scalar_side is None or v.args[scalar_side].shape == ()):
        k = 0 if scalar_side is None else 1 - scalar_side      # c·u, u/c, -u: unvec u
        inner = unvec(v.args[k], p, q)
        if inner is not None:
            args = list(v.args)
            args[k] = inner
            return E.typed(v.op, args)
    return None


def _sandwich(left, middle: Expr, right):
    """left @ middle @ right, skipping identities (None)."""
    out = middle
    if left is not None and left.op != "eye":
        out = E.matmul(left, out)
    if right is not None and right.op != "eye":
        out = E.matmul(out, right)
    return out


def _row_times_kron(a: "Row", k: "Kron"):
    """uᵀ(A ⊗ B) = vec(Aᵀ U B)ᵀ with u = vec(U) (row-major): the gradient keeps its matrix."""
    ma, mb = as_matrix(k.a), as_matrix(k.b)
    u = unvec(a.v, k.a.rows, k.b.rows)
    if ma is None or mb is None or u is None or u.shape == ():
        return None
    return row(E.vec(_sandwich(E.transpose(ma), u, mb)), k.cols)


def _kron_times_column(k: "Kron", b: "Column"):
    """(A ⊗ B) vec(P) = vec(A P Bᵀ) (row-major)."""
    ma, mb = as_matrix(k.a), as_matrix(k.b)
    p = unvec(b.v, k.a.cols, k.b.cols)
    if ma is None or mb is None or p is None or p.shape == ():
        return None
    return column(E.vec(_sandwich(ma, p, E.transpose(mb))), k.rows)


def simplified(j: Jacobian, algebra: Algebra | None = None) -> Jacobian:
    """j with every closed form in its canonical form (algebra.py). Simplified payloads can
    let kinds merge (a product collapses to a row, then meets another row), so the payloads
    are simplified once more after the kinds have been combined again."""
    alg = algebra or Algebra()
    once = map_payloads(j, alg.simplify)
    if not isinstance(once, (Sum, Product, Kron, Stack)):     # no kinds to combine again
        return once
    return map_payloads(_recombine(once), alg.simplify)


def _recombine(j: Jacobian) -> Jacobian:
    if isinstance(j, Sum):
        return jsum(*(_recombine(t) for t in j.terms))
    if isinstance(j, Product):
        out = _recombine(j.factors[0])
        for f in j.factors[1:]:
            out = jmul(out, _recombine(f))
        return _pooled(out) if isinstance(out, Product) else out
    if isinstance(j, Kron):
        return kron(_recombine(j.a), _recombine(j.b))
    if isinstance(j, Stack):
        return Stack([_recombine(b) for b in j.blocks], j.axis)
    return j


def _pooled(p: Product) -> Jacobian:
    """The numbers of a product's diagonal and matrix factors gathered into its first
    diagonal (or, without one, its first matrix): (3Aᵀ) diag(2 A x) A = Aᵀ diag(6 A x) A."""
    total, factors, first = Fraction(1), list(p.factors), None
    for i, f in enumerate(factors):
        if not isinstance(f, (Diagonal, Matrix)):
            continue
        c, u = E.coefficient(f.d if isinstance(f, Diagonal) else f.m)
        if u == E.ONE:
            continue
        if first is None or isinstance(f, Diagonal) and not isinstance(factors[first], Diagonal):
            first = i
        if c != 1:
            total *= c
            factors[i] = diagonal(u, f.rows) if isinstance(f, Diagonal) else \
                as_jacobian(u, f.rows, f.cols)
    if total == 1 or first is None:
        return p
    f = factors[first]
    factors[first] = diagonal(E.mul(E.num(total), f.d), f.rows) if isinstance(f, Diagonal) \
        else as_jacobian(E.mul(E.num(total), f.m), f.rows, f.cols)
    return Product(factors)


def map_payloads(j: Jacobian, s) -> Jacobian:
    """j with every closed form e replaced by s(e), the kinds kept as they are."""
    if isinstance(j, Scaled):
        return scaled(s(j.c), j.rows)
    if isinstance(j, Diagonal):
        return diagonal(s(j.d), j.rows)
    if isinstance(j, Row):
        return row(s(j.v), j.cols)
    if isinstance(j, Column):
        return column(s(j.v), j.rows)
    if isinstance(j, Scalar):
        return scalar(s(j.c))
    if isinstance(j, Matrix):
        return as_jacobian(s(j.m), j.rows, j.cols)
    if isinstance(j, Sum):
        return Sum([map_payloads(t, s) for t in j.terms])
    if isinstance(j, Product):
        return Product([map_payloads(f, s) for f in j.factors])
    if isinstance(j, Kron):
        return Kron(map_payloads(j.a, s), map_payloads(j.b, s))
    if isinstance(j, Stack):
        return Stack([map_payloads(b, s) for b in j.blocks], j.axis)
    return j


def payloads(j: Jacobian) -> list[Expr]:
    """The closed forms a Jacobian is made of, in the order `map_payloads` visits them."""
    out: list[Expr] = []
    stack = [j]
    while stack:
        k = stack.pop()
        payload = getattr(k, _PAYLOAD.get(type(k), ""), None)
        if payload is not None:
            out.append(payload)
        elif isinstance(k, (Sum, Product, Kron, Stack)):
            stack.extend(reversed(k.terms if isinstance(k, Sum) else k.factors if
                                  isinstance(k, Product) else (k.a, k.b) if
                                  isinstance(k, Kron) else k.blocks))
    return out


_PAYLOAD = {Scaled: "c", Diagonal: "d", Row: "v", Column: "v", Scalar: "c", Matrix: "m"}


def _product(factors: list) -> Jacobian:
    if len(factors) == 1:
        return factors[0]
    return Product(factors)


def hstack(blocks) -> Jacobian:
    """[J_x, J_y]: the Jacobian with respect to the stacked vector [x; y]."""
    blocks = list(blocks)
    if len(blocks) == 1:
        return blocks[0]
    if all(isinstance(b, Zero) for b in blocks):
        return Zero(blocks[0].rows, sizes.total(b.cols for b in blocks))
    stacked = Stack(blocks, "h")
    return _grid_diagonal(stacked) or stacked


def _grid_diagonal(j: Jacobian):
    """A square grid of scalar entries, zero off the diagonal, as diag([a, b, ...]): the
    Jacobian of [x^2, y^2] with respect to x,y is diagonal by its derivation."""
    grid = entry_grid(j)
    if grid is None or len(grid) < 2 or any(len(r) != len(grid) for r in grid):
        return None
    if not all(E.is_zero(e) for i, r in enumerate(grid) for k, e in enumerate(r) if i != k):
        return None
    entries = [r[i] for i, r in enumerate(grid)]
    if all(E.is_zero(e) for e in entries):
        return Zero(len(grid), len(grid))
    if all(E.is_one(e) for e in entries):
        return Identity(len(grid))
    return Diagonal(E.typed("vector", entries))


def vstack(blocks) -> Jacobian:
    """Rows on rows: the Jacobian of a vector literal [a, b, ...] of scalars."""
    blocks = list(blocks)
    if len(blocks) == 1:
        return blocks[0]
    cols = blocks[0].cols
    if all(isinstance(b, Zero) for b in blocks):
        return Zero(sizes.total(b.rows for b in blocks), cols)
    if cols == 1:
        entries = [scalar_entry(b) for b in blocks]
        if all(e is not None for e in entries):
            return Column(E.typed("vector", entries))
    return Stack(blocks, "v")
