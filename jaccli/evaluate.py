"""Numbers: expressions and structured Jacobians evaluated with NumPy, structure kept.

A diagonal Jacobian evaluates to its diagonal vector (`DiagonalValue`) and stays one
through sums and products with other diagonals; only `dense()` builds the full matrix,
and only when someone asks. No array larger than `MAX_ENTRIES` numbers is ever built: a
Jacobian that would need one evaluates to `TooLarge` (its shape, no numbers) with a
warning, so a 10⁶-element diagonal costs 10⁶ numbers and a declared 10¹⁸ costs none.

Non-finite results are reported as warnings naming the subexpression that produced them,
never as NumPy's RuntimeWarning text. Expressions are evaluated iteratively, so the depth
of a closed form is not limited by Python's recursion limit.

Told beforehand what it will be asked (`Evaluator.expect`), the evaluator keeps each
intermediate array only until its last use, and an elementwise operation writes into an
operand array that nothing later needs: `(1 - s) * s * y` costs one new array, not four,
so a run takes about the memory of its inputs and answers. Values handed out are never
written into.
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


def _sigmoid(x, out=None):
    """1 / (1 + exp(-x)), in one array. For x far below 0, exp(-x) overflows to infinity and
    the result is exactly 0, and it keeps its relative precision where the form with tanh,
    (1 + tanh(x/2)) / 2, rounds to 0 (x < -37)."""
    if out is None and np.ndim(x) == 0:
        return 1.0 / (1.0 + np.exp(-x))
    out = np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    return np.divide(1.0, out, out=out)


def all_finite(a) -> bool:
    """Whether every number of `a` is finite, with no temporary array when it is: a sum is
    finite exactly when its terms are, unless it overflows (then each is tested)."""
    with np.errstate(all="ignore"):
        if np.isfinite(np.add.reduce(a, axis=None)):
            return True
    return bool(np.all(np.isfinite(a)))


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


def _relu(x, out=None):
    return np.maximum(x, 0.0, out=out)


def _power(a, b, out=None):
    return np.power(np.asarray(a, float), b, out=out)


# Elementwise operations: each may write its result into `out`, an array of its shape.
_ELEMENTWISE = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp,
    "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "sigmoid": _sigmoid, "relu": _relu,
    "abs": np.abs, "sign": np.sign,
    "mul": np.multiply, "div": np.divide, "pow": _power, "max": np.maximum, "min": np.minimum,
}
_UNARY = {
    "step": lambda x: np.where(np.asarray(x) > 0, 1.0, 0.0),
    "sum": np.sum, "mean": np.mean, "norm": lambda x: np.sqrt(np.sum(np.square(x))),
    "logsumexp": _logsumexp, "softmax": _softmax,
    "vec": lambda x: np.reshape(x, -1),
}
_BINARY = {"dot": np.dot}


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


def _planned(j: J.Jacobian, dense_limit: int | None) -> list:
    """The expressions `Evaluator.jacobian(j, dense_limit)` will ask for, once per asking."""
    try:
        rows, cols = _size(j.rows), _size(j.cols)
    except NotEvaluable:
        return []
    if (dense_limit is not None and not j.diagonal and rows * cols > dense_limit) \
            or max(rows, cols) > MAX_ENTRIES:
        return []
    out, stack = [], [j]
    while stack:
        j = stack.pop()
        if isinstance(j, (J.Scaled, J.Scalar)):
            out.append(j.c)
        elif isinstance(j, J.Diagonal):
            out.append(j.d)
        elif isinstance(j, (J.Row, J.Column)):
            out.append(j.v)
        elif isinstance(j, J.Matrix):
            out.append(j.m)
        elif isinstance(j, J.Kron):
            stack += [j.a, j.b]
        elif isinstance(j, (J.Sum, J.Product, J.Stack)):
            stack += j.terms if isinstance(j, J.Sum) else \
                j.factors if isinstance(j, J.Product) else j.blocks
    return out


class Evaluator:
    """Evaluates expressions at given values (name -> ndarray), memoised per node."""

    def __init__(self, values: dict):
        self.values = values
        self.memo: dict[Expr, object] = {}
        self.warnings: list[str] = []
        self._finite: dict[Expr, bool] = {}   # node -> its value has only finite numbers
        # With a plan (`expect`): node -> uses still to come; a node that is not counted is
        # kept for good. `_spare`: nodes whose array this evaluator made and nobody else
        # holds, so that their last user may write into it.
        self._uses: dict[Expr, int] = {}
        self._spare: set[Expr] = set()
        self.inputs_finite = {name: all_finite(v) for name, v in values.items()}
        self._inputs_finite = all(self.inputs_finite.values())

    def expect(self, expressions, jacobians=(), dense_limit: int | None = None) -> None:
        """Announce every evaluation to come: `expressions` (each asked once), then the
        Jacobians (`jacobian(j, dense_limit)` for each). Arrays are then released after
        their last use and reused by elementwise operations. Asking for more than announced
        is still answered right, by evaluating again what was released."""
        roots = list(expressions)
        for j in jacobians:
            roots.extend(_planned(j, dense_limit))
        uses = self._uses
        walked = set(self.memo)
        for root in roots:
            uses[root] = uses.get(root, 0) + 1
        stack = roots
        while stack:
            node = stack.pop()
            if node in walked:
                continue
            walked.add(node)
            for a in _operands(node):
                uses[a] = uses.get(a, 0) + 1
                stack.append(a)

    def __call__(self, e: Expr):
        if e not in self.memo:
            # Post-order with an explicit stack: closed forms can nest deeper than the input.
            stack = [(e, False)]
            with np.errstate(all="ignore"):
                while stack:
                    node, ready = stack.pop()
                    if node in self.memo:
                        continue
                    operands = _operands(node)
                    if ready or not operands:
                        self._compute(node, operands)
                    else:
                        stack.append((node, True))
                        stack.extend((a, False) for a in reversed(operands) if a not in self.memo)
        value = self.memo[e]
        self._spare.discard(e)      # handed out: never written into
        self._used(e)
        return value

    def _compute(self, node: Expr, operands) -> None:
        args = [self.memo[a] for a in operands]
        into = self._reusable(node, operands, args)
        out = self._eval(node, args, into)
        self.memo[node] = out
        if into is not None and out is into:     # the operand's array is now `node`'s
            self._spare.difference_update(a for a, arg in zip(operands, args) if arg is into)
            self._spare.add(node)
        elif isinstance(out, np.ndarray):
            if out.base is None and node.op != "var" and not any(out is a for a in args):
                self._spare.add(node)
            else:   # an operand's array or a view of it: no operand may be written into now
                self._spare.difference_update(operands)
        for a in operands:
            self._used(a)

    def _reusable(self, node: Expr, operands, args):
        """An operand array the elementwise `node` may write its result into: one this
        evaluator made, of the result's shape, that no later step and nobody else needs.
        A sum of more than two terms writes its first partial sum into one of the first
        two (a later term is read after that)."""
        if node.op not in _ELEMENTWISE and node.op != "add":
            return None
        several = node.op == "add" and len(operands) > 2
        shape = None
        for a, arg in zip(operands[:2] if several else operands, args):
            if a not in self._spare or self._uses.get(a) != operands.count(a):
                continue
            if several and operands.count(a) > 1:
                continue
            if shape is None:
                shape = np.broadcast_shapes(*(np.shape(x) for x in args))
            if arg.shape == shape and arg.dtype == np.float64:
                return arg
        return None

    def _used(self, node: Expr) -> None:
        """One planned use of `node` is done; after its last, its array is released."""
        left = self._uses.get(node)
        if left is None:
            return
        if left > 1:
            self._uses[node] = left - 1
            return
        del self._uses[node]
        self.memo.pop(node, None)
        self._spare.discard(node)

    def _warn_if_new_nonfinite(self, e: Expr, out) -> None:
        """Record whether `out` is finite; a warning when it is not and its operands were."""
        finite = self._finite[e] = all_finite(out)
        if finite or not all(self._finite.get(a, True) for a in _operands(e)):
            return
        nan = bool(np.any(np.isnan(out)))
        self.warnings.append(f"{ascii_form(e)} gives {'NaN' if nan else 'an infinite value'} "
                             f"at these values{_domain_hint(e, nan)}")

    def _eval(self, e: Expr, args: list, into=None):
        """The value of `e` from its operands' values; an elementwise result may go `into`
        an array of its shape."""
        op = e.op
        if op == "num":
            value = to_float(e.value)
            self._finite[e] = bool(np.isfinite(value))
            if not self._finite[e]:
                self.warnings.append(f"a number in the expression or its derivative is "
                                     f"{ascii_form(e)} (beyond the floating-point range)")
            return value
        if op == "var":
            if e.value not in self.values:
                raise NotEvaluable(f"{e.value} has no value")
            value = self.values[e.value]
            self._finite[e] = self.inputs_finite[e.value]
            return value
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
            out = np.add(args[0], args[1], out=into) if len(args) > 1 else args[0]
            for a in args[2:]:
                if (into is None and isinstance(out, np.ndarray)
                        and np.broadcast_shapes(out.shape, np.shape(a)) == out.shape):
                    into = out      # made just now by the first addition
                out = np.add(out, a, out=into)
        elif op in _ELEMENTWISE:
            out = _ELEMENTWISE[op](*args, out=into)
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
        self._warn_if_new_nonfinite(e, out)
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
        if not self.warnings and self._inputs_finite and not value.all_finite():
            numbers = value.d if isinstance(value, DiagonalValue) else value.a
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
            return ScaledValue(a.d, b.a, "rows")
        if isinstance(b, DiagonalValue):
            return ScaledValue(b.d, a.a, "cols")
        return DenseValue(a.a @ b.a)


def _domain_hint(e: Expr, nan: bool) -> str:
    hints = {"log": " (log of a value <= 0)", "sqrt": " (sqrt of a negative value)",
             "div": " (division by zero)", "pow": " (a negative base with a fractional power, "
             "or overflow)", "tan": " (tan at an odd multiple of pi/2)"}
    if e.op in hints:
        return hints[e.op]
    return " (infinity minus infinity, or zero times infinity)" if nan else " (overflow)"
