"""The numbers of structured Jacobians: a diagonal kept as its vector (`DiagonalValue`), a
matrix (`DenseValue`), diag(s)·M kept as its two factors (`ScaledValue`), and markers for
Jacobians too large to compute or to list, with the arithmetic between them (sums and
products that keep a diagonal a diagonal, multiplied in the cheapest order) under one budget:
no array larger than `MAX_ENTRIES` numbers is ever built. `jacobian_value` evaluates a
structured Jacobian (jacobians.py) given an evaluator of its closed forms (evaluate.py).
"""
from __future__ import annotations

import numpy as np

from . import jacobians as J
from . import sizes
from .errors import Unsupported

# The most numbers jac puts in one array (400 MB of float64).
MAX_ENTRIES = 5 * 10 ** 7


class NotEvaluable(Exception):
    """A variable has no value, or a size is symbolic."""


class _TooBig(Exception):
    """An array of more than MAX_ENTRIES numbers was about to be built."""


def budget(rows: int, cols: int = 1) -> None:
    """Refuse (raise _TooBig) an array of more than MAX_ENTRIES numbers before it is built."""
    if rows * cols > MAX_ENTRIES:
        raise _TooBig


class DiagonalValue:
    def __init__(self, d: np.ndarray):
        self.d = np.asarray(d, dtype=float).reshape(-1)
        self.shape = (self.d.size, self.d.size)

    def all_finite(self) -> bool:
        return all_finite(self.d)

    def dense(self) -> np.ndarray:
        n = self.d.size
        if n * n > MAX_ENTRIES:
            raise Unsupported(f"the {n}x{n} diagonal Jacobian is too large to write out as a "
                              "matrix", hint="use --json (it lists the diagonal) or --save FILE.npz")
        return np.diag(self.d)

    @property
    def T(self):
        return self


class DenseValue:
    def __init__(self, a: np.ndarray):
        self.a = np.asarray(a, dtype=float)
        self.shape = self.a.shape

    def dense(self) -> np.ndarray:
        return self.a

    def all_finite(self) -> bool:
        return all_finite(self.a)

    @property
    def T(self):
        return DenseValue(self.a.T)


# A factored product is made this many numbers at a time for the archive.
ROW_BLOCK = 1 << 17


class ScaledValue(DenseValue):
    """diag(s)·M (its rows scaled: `side` "rows") or M·diag(s) ("cols"), kept as its two
    factors: `tanh(W @ x)` wrt x is diag(1 - t²)·W, and its numbers go into the --save
    archive a block of rows at a time (`row_blocks`), never all at once; `a` and `dense()`
    make (and keep) the whole matrix for those who ask."""

    def __init__(self, scale: np.ndarray, m: np.ndarray, side: str):
        self.scale, self.m, self.side = scale, m, side
        self.shape = m.shape
        self._whole = None

    @property
    def a(self) -> np.ndarray:
        if self._whole is None:
            self._whole = self._rows(0, self.shape[0])
        return self._whole

    @property
    def T(self):
        return ScaledValue(self.scale, self.m.T, "cols" if self.side == "rows" else "rows")

    @property
    def fortran(self) -> bool:
        """Whether `row_blocks` gives the rows of the transpose (M lies in column order, as
        a transposed matrix does: its columns are then read in one sweep)."""
        return self.m.flags.f_contiguous and not self.m.flags.c_contiguous

    def _rows(self, start: int, stop: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            if self.side == "rows":
                return self.scale[start:stop, None] * self.m[start:stop]
            return self.m[start:stop] * self.scale[None, :]

    def row_blocks(self):
        """The numbers, a few rows at a time (of the transpose when `fortran`)."""
        source = self.T if self.fortran else self
        rows, cols = source.shape
        step = max(1, ROW_BLOCK // max(1, cols))
        for start in range(0, rows, step):
            yield source._rows(start, min(rows, start + step))

    def all_finite(self) -> bool:
        """When the largest entries of the factors multiply to a finite number, so does
        every pair (a NaN or an infinity makes that product NaN or infinite); otherwise
        every block is tested."""
        if self._whole is not None:
            return all_finite(self._whole)
        with np.errstate(all="ignore"):
            if self.m.size and np.isfinite(_largest(self.scale) * _largest(self.m)):
                return True
        return all(all_finite(block) for block in self.row_blocks())


def _largest(a) -> float:
    """max |a| (NaN if there is one), without an array of absolute values."""
    high, low = float(np.max(a)), float(np.min(a))
    return high if high != high else max(high, -low)


class TooLarge:
    """A Jacobian whose numbers would not fit in MAX_ENTRIES: its shape, and no numbers."""

    d = None
    too_large = True

    def __init__(self, rows: int, cols: int):
        self.shape = (rows, cols)

    def dense(self):
        rows, cols = self.shape
        raise Unsupported(f"the {rows}x{cols} Jacobian has too many entries to compute "
                          f"(more than {MAX_ENTRIES})")

    @property
    def T(self):
        return TooLarge(self.shape[1], self.shape[0])


class NotListed(TooLarge):
    """A dense Jacobian with more entries than any output shows, not computed because
    nothing would use its numbers (no --save): its shape, and no numbers."""


def all_finite(a) -> bool:
    """Whether every number of `a` is finite, with no temporary array when it is: a sum is
    finite exactly when its terms are, unless it overflows (then each is tested)."""
    with np.errstate(all="ignore"):
        if np.isfinite(np.add.reduce(a, axis=None)):
            return True
    return bool(np.all(np.isfinite(a)))


def concrete(s) -> int:
    """A size as an int; NotEvaluable when it is symbolic."""
    if not sizes.is_concrete(s):
        raise NotEvaluable(f"size {s} is symbolic")
    return s


def payloads_asked(j: J.Jacobian, dense_limit: int | None) -> list:
    """The expressions `Evaluator.jacobian(j, dense_limit)` will ask for, once per asking."""
    try:
        rows, cols = concrete(j.rows), concrete(j.cols)
    except NotEvaluable:
        return []
    if (dense_limit is not None and not j.diagonal and rows * cols > dense_limit) \
            or max(rows, cols) > MAX_ENTRIES:
        return []
    return J.payloads(j)


def jacobian_value(ev, j: J.Jacobian, dense_limit: int | None = None):
    """The numbers of `j`, its closed forms evaluated by `ev` (an `evaluate.Evaluator`:
    ev(expr) is the value of expr; it collects the warnings): DiagonalValue, DenseValue,
    or TooLarge (with a warning).
    Non-finite numbers that no warning explains yet (an overflow while multiplying
    Jacobians) get one. NotEvaluable when a variable has no value or a size is symbolic.
    A Jacobian that is not diagonal and has more than `dense_limit` entries is decided
    from its size alone, before any work: NotListed."""
    rows, cols = concrete(j.rows), concrete(j.cols)
    if dense_limit is not None and not j.diagonal and rows * cols > dense_limit:
        return NotListed(rows, cols)
    if max(rows, cols) > MAX_ENTRIES:
        # No value is this long (inputs.py reads at most as many numbers): the size was
        # declared, for a variable without a value, so there are no numbers to give.
        raise NotEvaluable(f"a {rows}x{cols} Jacobian")
    try:
        with np.errstate(all="ignore"):
            value = _value(ev, j)
    except _TooBig:
        if j.diagonal:
            raise NotEvaluable(f"a {rows}x{cols} Jacobian") from None
        ev.warnings.append(f"the {rows}x{cols} Jacobian {_short(j.form())} is too large to "
                           f"compute (more than {MAX_ENTRIES} numbers): it has no value")
        return TooLarge(rows, cols)
    if not ev.warnings and ev.inputs_all_finite and not value.all_finite():
        entries = value.d if isinstance(value, DiagonalValue) else value.a
        kind = "NaN" if np.any(np.isnan(entries)) else "infinite values"
        ev.warnings.append(f"the Jacobian {_short(j.form())} has {kind} at these values "
                           "(overflow or a division by zero)")
    return value


def _value(ev, j: J.Jacobian):
    rows, cols = concrete(j.rows), concrete(j.cols)
    if isinstance(j, J.Zero):
        if rows == cols:
            budget(rows)
            return DiagonalValue(np.zeros(rows))
        budget(rows, cols)
        return DenseValue(np.zeros((rows, cols)))
    if isinstance(j, (J.Identity, J.Scaled, J.Diagonal, J.Row, J.Column)):
        budget(max(rows, cols))   # stored as one vector
    elif isinstance(j, J.Matrix):
        budget(rows, cols)
    if isinstance(j, J.Identity):
        return DiagonalValue(np.ones(rows))
    if isinstance(j, J.Scaled):
        return DiagonalValue(np.full(rows, float(ev(j.c))))
    if isinstance(j, J.Diagonal):
        return DiagonalValue(np.broadcast_to(ev(j.d), (rows,)))
    if isinstance(j, J.Row):
        return DenseValue(np.broadcast_to(ev(j.v), (cols,)).reshape(1, cols))
    if isinstance(j, J.Column):
        return DenseValue(np.broadcast_to(ev(j.v), (rows,)).reshape(rows, 1))
    if isinstance(j, J.Scalar):
        return DenseValue(np.array([[float(ev(j.c))]]))
    if isinstance(j, J.Matrix):
        return DenseValue(np.reshape(ev(j.m), (rows, cols)))
    if isinstance(j, J.Kron):
        a, b = _value(ev, j.a), _value(ev, j.b)
        if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
            return DiagonalValue(np.kron(a.d, b.d))
        budget(rows, cols)
        return DenseValue(np.kron(_dense(a), _dense(b)))
    if isinstance(j, J.Commutation):
        return DenseValue(commutation_matrix(concrete(j.m), concrete(j.n)))
    if isinstance(j, J.Sum):
        out = _value(ev, j.terms[0])
        for t in j.terms[1:]:
            out = add_values(out, _value(ev, t))
        return out
    if isinstance(j, J.Product):
        return multiply_chain([_value(ev, f) for f in j.factors])
    if isinstance(j, J.Stack):
        budget(rows, cols)
        blocks = [_dense(_value(ev, b)) for b in j.blocks]
        return DenseValue(np.hstack(blocks) if j.axis == "h" else np.vstack(blocks))
    raise AssertionError(type(j))


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """K with vec(Aᵀ) = K vec(A) for an m x n matrix A, row-major vec."""
    budget(m * n, m * n)
    k = np.zeros((m * n, m * n))
    i, j = np.divmod(np.arange(m * n), n)     # entry (i, j) of A sits at i*n + j
    k[j * m + i, i * n + j] = 1.0
    return k


def _dense(v) -> np.ndarray:
    rows, cols = v.shape
    budget(rows, cols)
    return v.dense()


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _cost(a, b) -> int:
    """Numbers in the product a·b (a diagonal result costs its diagonal)."""
    if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
        return a.shape[0]
    return a.shape[0] * b.shape[1]


def multiply_chain(factors: list):
    """A·B·C·...: multiply the adjacent pair with the smallest result first, so a column
    times a row times a column never builds the outer product."""
    factors = list(factors)
    while len(factors) > 1:
        i = min(range(len(factors) - 1), key=lambda k: _cost(factors[k], factors[k + 1]))
        factors[i:i + 2] = [multiply_values(factors[i], factors[i + 1])]
    return factors[0]


def add_values(a, b):
    with np.errstate(all="ignore"):
        if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
            return DiagonalValue(a.d + b.d)
        budget(*a.shape)
        return DenseValue(_dense_plus(a, b))


def _dense_plus(a, b):
    if isinstance(a, DiagonalValue):
        a, b = b, a
    if isinstance(b, DiagonalValue):
        out = np.array(a.a, dtype=float)
        out[np.diag_indices_from(out)] += b.d
        return out
    return a.a + b.a


def multiply_values(a, b):
    with np.errstate(all="ignore"):
        if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
            return DiagonalValue(a.d * b.d)
        budget(a.shape[0], b.shape[1])
        if isinstance(a, DiagonalValue):
            return ScaledValue(a.d, b.a, "rows")
        if isinstance(b, DiagonalValue):
            return ScaledValue(b.d, a.a, "cols")
        return DenseValue(a.a @ b.a)
