"""Numbers: expressions and structured Jacobians evaluated with NumPy, structure kept.

A diagonal Jacobian evaluates to its diagonal vector (`DiagonalValue`) and stays one
through sums and products with other diagonals; only `dense()` builds the full matrix,
and only when someone asks. Non-finite results are reported as warnings naming the
subexpression, never as NumPy's RuntimeWarning text.
"""
from __future__ import annotations

import numpy as np

from . import jacobians as J
from . import sizes
from .expr import Expr
from .notation import ascii_form


class NotEvaluable(Exception):
    """A variable has no value, or a size is symbolic."""


class DiagonalValue:
    def __init__(self, d: np.ndarray):
        self.d = np.asarray(d, dtype=float).reshape(-1)
        self.shape = (self.d.size, self.d.size)

    def dense(self) -> np.ndarray:
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


def _size(s) -> int:
    if not sizes.is_concrete(s):
        raise NotEvaluable(f"size {s} is symbolic")
    return s


class Evaluator:
    """Evaluates expressions at given values (name -> ndarray), memoised per node."""

    def __init__(self, values: dict):
        self.values = values
        self.memo: dict[Expr, object] = {}
        self.warnings: list[str] = []

    def __call__(self, e: Expr):
        hit = self.memo.get(e)
        if hit is None:
            with np.errstate(all="ignore"):
                hit = self._eval(e)
            self.memo[e] = hit
        return hit

    def _warn_if_new_nonfinite(self, e: Expr, out, args):
        if np.all(np.isfinite(out)):
            return
        if all(np.all(np.isfinite(a)) for a in args):
            kind = "NaN" if np.any(np.isnan(out)) else "an infinite value"
            self.warnings.append(f"{ascii_form(e)} gives {kind} at these values"
                                 + _domain_hint(e))

    def _eval(self, e: Expr):
        op = e.op
        if op == "num":
            return e.value
        if op == "var":
            if e.value not in self.values:
                raise NotEvaluable(f"{e.value} has no value")
            return self.values[e.value]
        if op == "dim":
            return float(_size(e.value))
        if op in ("ones", "zeros"):
            shape = tuple(_size(s) for s in e.shape)
            return np.ones(shape) if op == "ones" else np.zeros(shape)
        if op == "log" and e.args[0].op == "softmax":   # log-softmax, finite for large inputs
            x = np.asarray(self(e.args[0].args[0]), dtype=float)
            out = x - _logsumexp(x)
            self._warn_if_new_nonfinite(e, out, [x])
            return out
        args = [self(a) for a in e.args]
        if op == "add":
            out = args[0]
            for a in args[1:]:
                out = np.add(out, a)
        elif op in _UNARY:
            out = _UNARY[op](args[0])
        elif op in _BINARY:
            out = _BINARY[op](args[0], args[1])
        elif op == "matmul":
            out = np.matmul(args[0], args[1])
            if e.shape == () and np.ndim(out) == 1:
                out = out[0]
        elif op == "transpose":
            a = np.asarray(args[0], dtype=float)
            if a.ndim == 1:
                out = a[None, :]
            elif a.ndim == 2 and a.shape[0] == 1 and len(e.shape) == 1:
                out = a[0]
            else:
                out = a.T
        elif op == "vector":
            out = np.array([float(a) for a in args])
        else:
            raise AssertionError(op)
        self._warn_if_new_nonfinite(e, out, args)
        return out

    # -- Jacobians ---------------------------------------------------------------------
    def jacobian(self, j: J.Jacobian):
        rows, cols = _size(j.rows), _size(j.cols)
        if isinstance(j, J.Zero):
            return DiagonalValue(np.zeros(rows)) if rows == cols else DenseValue(np.zeros((rows, cols)))
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
            return DenseValue(np.kron(self.jacobian(j.a).dense(), self.jacobian(j.b).dense()))
        if isinstance(j, J.Sum):
            out = self.jacobian(j.terms[0])
            for t in j.terms[1:]:
                out = add_values(out, self.jacobian(t))
            return out
        if isinstance(j, J.Product):
            out = self.jacobian(j.factors[0])
            for f in j.factors[1:]:
                out = multiply_values(out, self.jacobian(f))
            return out
        if isinstance(j, J.Stack):
            blocks = [self.jacobian(b).dense() for b in j.blocks]
            return DenseValue(np.hstack(blocks) if j.axis == "h" else np.vstack(blocks))
        raise AssertionError(type(j))


def add_values(a, b):
    with np.errstate(all="ignore"):
        if isinstance(a, DiagonalValue) and isinstance(b, DiagonalValue):
            return DiagonalValue(a.d + b.d)
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
        if isinstance(a, DiagonalValue):
            return DenseValue(a.d[:, None] * b.a)
        if isinstance(b, DiagonalValue):
            return DenseValue(a.a * b.d[None, :])
        return DenseValue(a.a @ b.a)


def _domain_hint(e: Expr) -> str:
    hints = {"log": " (log of a value <= 0)", "sqrt": " (sqrt of a negative value)",
             "div": " (division by zero)", "pow": " (a negative base with a fractional power, "
             "or overflow)", "exp": " (overflow)"}
    return hints.get(e.op, "")
