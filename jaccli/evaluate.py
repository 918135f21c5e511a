"""Numbers: expressions and structured Jacobians evaluated with NumPy, structure kept.

A diagonal Jacobian evaluates to its diagonal vector (`DiagonalValue`) and stays one
through sums and products with other diagonals; only `dense()` builds the full matrix,
and only when someone asks. No array larger than `MAX_ENTRIES` numbers is ever built: a
Jacobian that would need one evaluates to `TooLarge` (its shape, no numbers) with a
warning, so a 10⁶-element diagonal costs 10⁶ numbers and a declared 10¹⁸ costs none.

Non-finite results are reported as warnings naming the subexpression that produced them,
never as NumPy's RuntimeWarning text. Expressions are evaluated iteratively, so the depth
of a closed form is not limited by Python's recursion limit.
"""
from __future__ import annotations

import numpy as np

from . import jacobians as J
from . import sizes
from .errors import Unsupported
from .expr import Expr
from .notation import ascii_form

# The most numbers jac puts in one array (400 MB of float64).
MAX_ENTRIES = 5 * 10 ** 7


class NotEvaluable(Exception):
    """A variable has no value, or a size is symbolic."""


class _TooBig(Exception):
    """An array of more than MAX_ENTRIES numbers was about to be built."""


def _budget(rows: int, cols: int = 1) -> None:
    if rows * cols > MAX_ENTRIES:
        raise _TooBig


class DiagonalValue:
    def __init__(self, d: np.ndarray):
        self.d = np.asarray(d, dtype=float).reshape(-1)
        self.shape = (self.d.size, self.d.size)

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

    @property
    def T(self):
        return DenseValue(self.a.T)


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


def _stable_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _logsumexp(x):
    x = np.asarray(x, dtype=float).reshape(-1)
    if x.size == 0:
        return -np.inf
    m = np.max(x)
    if not np.isfinite(m):
        return m if m > 0 else np.log(np.sum(np.exp(x)))
    return m + np.log(np.sum(np.exp(x - m)))


def _softmax(x):
    x = np.asarray(x, dtype=float)
    m = np.max(x) if x.size else 0.0
    e = np.exp(x - (m if np.isfinite(m) else 0.0))
    return e / np.sum(e)


_UNARY = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp,
    "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "sigmoid": _stable_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0), "abs": np.abs,
    "step": lambda x: np.where(np.asarray(x) > 0, 1.0, 0.0), "sign": np.sign,
    "sum": np.sum, "mean": np.mean, "norm": lambda x: np.sqrt(np.sum(np.square(x))),
    "logsumexp": _logsumexp, "softmax": _softmax,
    "vec": lambda x: np.reshape(x, -1),
}
_BINARY = {
    "mul": np.multiply, "div": np.divide, "pow": lambda a, b: np.power(np.asarray(a, float), b),
    "max": np.maximum, "min": np.minimum, "dot": np.dot,
}


def to_float(v) -> float:
    """An exact number as a float; one too large for a float is an infinity."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _size(s) -> int:
    if not sizes.is_concrete(s):
        raise NotEvaluable(f"size {s} is symbolic")
    return s


def _is_log_softmax(e: Expr) -> bool:
    """log(softmax(x)) and log(sigmoid(x)): computed from x directly, finite for large |x|."""
    return e.op == "log" and e.args[0].op in ("softmax", "sigmoid")


def _operands(e: Expr) -> tuple:
    """The nodes whose values `e` is computed from (log-softmax skips the softmax)."""
    return e.args[0].args if _is_log_softmax(e) else e.args


class Evaluator:
    """Evaluates expressions at given values (name -> ndarray), memoised per node."""

    def __init__(self, values: dict):
        self.values = values
        self.memo: dict[Expr, object] = {}
        self.warnings: list[str] = []
        self._inputs_finite = all(np.all(np.isfinite(v)) for v in values.values())

    def __call__(self, e: Expr):
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        # Post-order with an explicit stack: closed forms can nest deeper than the input.
        stack = [(e, False)]
        with np.errstate(all="ignore"):
            while stack:
                node, ready = stack.pop()
                if node in self.memo:
                    continue
                operands = _operands(node)
                if ready or not operands:
                    self.memo[node] = self._eval(node, [self.memo[a] for a in operands])
                else:
                    stack.append((node, True))
                    stack.extend((a, False) for a in reversed(operands) if a not in self.memo)
        return self.memo[e]

    def _warn_if_new_nonfinite(self, e: Expr, out, args):
        if np.all(np.isfinite(out)):
            return
        if all(np.all(np.isfinite(a)) for a in args):
            nan = bool(np.any(np.isnan(out)))
            self.warnings.append(f"{ascii_form(e)} gives {'NaN' if nan else 'an infinite value'} "
                                 f"at these values{_domain_hint(e, nan)}")

    def _eval(self, e: Expr, args: list):
        op = e.op
        if op == "num":
            value = to_float(e.value)
            if not np.isfinite(value):
                self.warnings.append(f"a number in the expression or its derivative is "
                                     f"{ascii_form(e)} (beyond the floating-point range)")
            return value
        if op == "var":
            if e.value not in self.values:
                raise NotEvaluable(f"{e.value} has no value")
            return self.values[e.value]
        if op == "dim":
            return float(_size(e.value))
        if op in ("ones", "zeros"):
            shape = tuple(_size(s) for s in e.shape)
            if sizes.product(shape) > MAX_ENTRIES:
                raise NotEvaluable(f"{op} of shape {shape} is too large")
            return np.ones(shape) if op == "ones" else np.zeros(shape)
        if _is_log_softmax(e):   # log-softmax, log-sigmoid: finite for large inputs
            x = np.asarray(args[0], dtype=float)
            out = x - _logsumexp(x) if e.args[0].op == "softmax" else -np.logaddexp(0.0, -x)
        elif op == "add":
            out = args[0]
            for a in args[1:]:
                out = np.add(out, a)
        elif op in _UNARY:
            out = _UNARY[op](args[0])
        elif op in _BINARY:
            out = _BINARY[op](args[0], args[1])
        elif op == "matmul":
            a, b = args
            if np.ndim(a) == 1 and len(e.shape) == 2:          # u @ v': the outer product
                a = np.reshape(a, (-1, 1))
            out = np.matmul(a, b)
            if e.shape == () and np.ndim(out) == 1:
                out = out[0]
        elif op == "eye":
            n = _size(e.value)
            _budget(n, n)
            out = np.eye(n)
        elif op == "diag":
            d = np.asarray(args[0], dtype=float)
            _budget(d.size, d.size)
            out = np.diag(d)
        elif op == "kron":
            a, b = (_as_block(x) for x in args)
            _budget(a.size, b.size)
            out = np.kron(a, b)
        elif op in ("hstack", "vstack"):
            blocks = [_as_block(a) for a in args]
            out = np.hstack(blocks) if op == "hstack" else np.vstack(blocks)
        elif op == "commutation":
            out = commutation_matrix(_size(e.value[0]), _size(e.value[1]))
        elif op == "transpose":
            a = np.asarray(args[0], dtype=float)
            if a.ndim == 1:
                out = a[None, :]
            elif a.ndim == 2 and a.shape[0] == 1 and len(e.shape) == 1:
                out = a[0]
            else:
                out = a.T
        elif op in ("vector", "matrix"):
            out = np.array([float(np.reshape(a, -1)[0]) for a in args])
            if op == "matrix":
                out = out.reshape(e.value)
        else:
            raise AssertionError(op)
        self._warn_if_new_nonfinite(e, out, args)
        return out

    # -- Jacobians ---------------------------------------------------------------------
    def jacobian(self, j: J.Jacobian, dense_limit: int | None = None):
        """The numbers of `j`: DiagonalValue, DenseValue, or TooLarge (with a warning).
        Non-finite numbers that no warning explains yet (an overflow while multiplying
        Jacobians) get one. NotEvaluable when a variable has no value or a size is symbolic.
        A Jacobian that is not diagonal and has more than `dense_limit` entries is decided
        from its size alone, before any work: NotListed."""
        rows, cols = _size(j.rows), _size(j.cols)
        if dense_limit is not None and not j.diagonal and rows * cols > dense_limit:
            return NotListed(rows, cols)
        if max(rows, cols) > MAX_ENTRIES:
            # No value is this long (inputs.py reads at most as many numbers): the size was
            # declared, for a variable without a value, so there are no numbers to give.
            raise NotEvaluable(f"a {rows}x{cols} Jacobian")
        try:
            with np.errstate(all="ignore"):
                value = self._jacobian(j)
        except _TooBig:
            if j.diagonal:
                raise NotEvaluable(f"a {rows}x{cols} Jacobian") from None
            self.warnings.append(f"the {rows}x{cols} Jacobian {_short(j.form())} is too large to "
                                 f"compute (more than {MAX_ENTRIES} numbers): it has no value")
            return TooLarge(rows, cols)
        numbers = value.d if isinstance(value, DiagonalValue) else value.a
        if not self.warnings and self._inputs_finite and not np.all(np.isfinite(numbers)):
            kind = "NaN" if np.any(np.isnan(numbers)) else "infinite values"
            self.warnings.append(f"the Jacobian {_short(j.form())} has {kind} at these values "
                                 "(overflow or a division by zero)")
        return value

    def _jacobian(self, j: J.Jacobian):
        rows, cols = _size(j.rows), _size(j.cols)
        if isinstance(j, J.Zero):
            if rows == cols:
                _budget(rows)
                return DiagonalValue(np.zeros(rows))
            _budget(rows, cols)
            return DenseValue(np.zeros((rows, cols)))
        if isinstance(j, (J.Identity, J.Scaled, J.Diagonal, J.Row, J.Column)):
            _budget(max(rows, cols))   # stored as one vector
        elif isinstance(j, J.Matrix):
            _budget(rows, cols)
        if isinstance(j, J.Identity):
            return DiagonalValue(np.ones(rows))
        if isinstance(j, J.Scaled):
            return DiagonalValue(np.full(rows, float(self(j.c))))
        if isinstance(j, J.Diagonal):
            return DiagonalValue(np.broadcast_to(self(j.d), (rows,)))
        if isinstance(j, J.Row):
            return DenseValue(np.broadcast_to(self(j.v), (cols,)).reshape(1, cols))
        if isinstance(j, J.Column):
            return DenseValue(np.broadcast_to(self(j.v), (rows,)).reshape(rows, 1))
        if isinstance(j, J.Scalar):
            return DenseValue(np.array([[float(self(j.c))]]))
        if isinstance(j, J.Matrix):
            return DenseValue(np.reshape(self(j.m), (rows, cols)))
        if isinstance(j, J.Kron):
            a, b = self._jacobian(j.a), self._jacobian(j.b)
            if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
                return DiagonalValue(np.kron(a.d, b.d))
            _budget(rows, cols)
            return DenseValue(np.kron(_dense(a), _dense(b)))
        if isinstance(j, J.Commutation):
            return DenseValue(commutation_matrix(_size(j.m), _size(j.n)))
        if isinstance(j, J.Sum):
            out = self._jacobian(j.terms[0])
            for t in j.terms[1:]:
                out = add_values(out, self._jacobian(t))
            return out
        if isinstance(j, J.Product):
            return multiply_chain([self._jacobian(f) for f in j.factors])
        if isinstance(j, J.Stack):
            _budget(rows, cols)
            blocks = [_dense(self._jacobian(b)) for b in j.blocks]
            return DenseValue(np.hstack(blocks) if j.axis == "h" else np.vstack(blocks))
        raise AssertionError(type(j))


def _as_block(x) -> np.ndarray:
    """A factor of kron or a block of hstack/vstack as a matrix: a vector is a column."""
    x = np.asarray(x, dtype=float)
    return x.reshape(-1, 1) if x.ndim == 1 else np.atleast_2d(x)


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """K with vec(Aᵀ) = K vec(A) for an m x n matrix A, row-major vec."""
    _budget(m * n, m * n)
    k = np.zeros((m * n, m * n))
    i, j = np.divmod(np.arange(m * n), n)     # entry (i, j) of A sits at i*n + j
    k[j * m + i, i * n + j] = 1.0
    return k


def _dense(v) -> np.ndarray:
    rows, cols = v.shape
    _budget(rows, cols)
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
        _budget(*a.shape)
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
        _budget(a.shape[0], b.shape[1])
        if isinstance(a, DiagonalValue):
            return DenseValue(a.d[:, None] * b.a)
        if isinstance(b, DiagonalValue):
            return DenseValue(a.a * b.d[None, :])
        return DenseValue(a.a @ b.a)


def _domain_hint(e: Expr, nan: bool) -> str:
    hints = {"log": " (log of a value <= 0)", "sqrt": " (sqrt of a negative value)",
             "div": " (division by zero)", "pow": " (a negative base with a fractional power, "
             "or overflow)", "tan": " (tan at an odd multiple of pi/2)"}
    if e.op in hints:
        return hints[e.op]
    return " (infinity minus infinity, or zero times infinity)" if nan else " (overflow)"
