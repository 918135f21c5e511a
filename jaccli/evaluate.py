"""Numbers of expressions: closed forms evaluated with NumPy at given values, memoised per
node (`Evaluator`); the numbers of whole structured Jacobians are values.py's, which asks
this evaluator for their closed forms.

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
from .expr import Expr
from .notation import ascii_form
from .values import (MAX_ENTRIES, NotEvaluable, all_finite, budget, commutation_matrix,
                     concrete, jacobian_value, payloads_asked)


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


def _is_log_softmax(e: Expr) -> bool:
    """log(softmax(x)) and log(sigmoid(x)): computed from x directly, finite for large |x|."""
    return e.op == "log" and e.args[0].op in ("softmax", "sigmoid")


def _operands(e: Expr) -> tuple:
    """The nodes whose values `e` is computed from (log-softmax skips the softmax)."""
    return e.args[0].args if _is_log_softmax(e) else e.args


class _Lifetimes:
    """Which arrays an evaluator still needs, and which it may write into.

    After `expect` (node -> uses still to come; a node not counted is kept for good), each
    node's array is released after its last use (`used`). `spare`: the nodes whose array
    the evaluator made and nobody else holds, so that their last user may write into it;
    a value handed out leaves it."""

    def __init__(self):
        self.uses: dict[Expr, int] = {}
        self.spare: set[Expr] = set()

    def expect(self, roots: list, known) -> None:
        """Count the uses of every node below `roots` (each root asked once) not in `known`."""
        uses = self.uses
        walked = set(known)
        for root in roots:
            uses[root] = uses.get(root, 0) + 1
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node in walked:
                continue
            walked.add(node)
            for a in _operands(node):
                uses[a] = uses.get(a, 0) + 1
                stack.append(a)

    def reusable(self, node: Expr, operands, args):
        """An operand array the elementwise `node` may write its result into: one the
        evaluator made, of the result's shape, that no later step and nobody else needs.
        A sum of more than two terms writes its first partial sum into one of the first
        two (a later term is read after that)."""
        if node.op not in _ELEMENTWISE and node.op != "add":
            return None
        several = node.op == "add" and len(operands) > 2
        shape = None
        for a, arg in zip(operands[:2] if several else operands, args):
            if a not in self.spare or self.uses.get(a) != operands.count(a):
                continue
            if several and operands.count(a) > 1:
                continue
            if shape is None:
                shape = np.broadcast_shapes(*(np.shape(x) for x in args))
            if arg.shape == shape and arg.dtype == np.float64:
                return arg
        return None

    def made(self, node: Expr, out, operands, args, into) -> None:
        """`node` was computed as `out` (written into `into`, when not None)."""
        if into is not None and out is into:     # the operand's array is now `node`'s
            self.spare.difference_update(a for a, arg in zip(operands, args) if arg is into)
            self.spare.add(node)
        elif isinstance(out, np.ndarray):
            if out.base is None and node.op != "var" and not any(out is a for a in args):
                self.spare.add(node)
            else:   # an operand's array or a view of it: no operand may be written into now
                self.spare.difference_update(operands)

    def used(self, node: Expr) -> bool:
        """One planned use of `node` is done; True after its last (release its array)."""
        left = self.uses.get(node)
        if left is None:
            return False
        if left > 1:
            self.uses[node] = left - 1
            return False
        del self.uses[node]
        self.spare.discard(node)
        return True


class Evaluator:
    """Evaluates expressions at given values (name -> ndarray), memoised per node."""

    def __init__(self, values: dict):
        self.values = values
        self.memo: dict[Expr, object] = {}
        self.warnings: list[str] = []
        self._finite: dict[Expr, bool] = {}   # node -> its value has only finite numbers
        self._lifetimes = _Lifetimes()
        self.inputs_finite = {name: all_finite(v) for name, v in values.items()}
        self.inputs_all_finite = all(self.inputs_finite.values())

    def expect(self, expressions, jacobians=(), dense_limit: int | None = None) -> None:
        """Announce every evaluation to come: `expressions` (each asked once), then the
        Jacobians (`jacobian(j, dense_limit)` for each). Arrays are then released after
        their last use and reused by elementwise operations. Asking for more than announced
        is still answered right, by evaluating again what was released."""
        roots = list(expressions)
        for j in jacobians:
            roots.extend(payloads_asked(j, dense_limit))
        self._lifetimes.expect(roots, self.memo)

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
        self._lifetimes.spare.discard(e)      # handed out: never written into
        self._used(e)
        return value

    def _compute(self, node: Expr, operands) -> None:
        args = [self.memo[a] for a in operands]
        into = self._lifetimes.reusable(node, operands, args)
        out = self._eval(node, args, into)
        self.memo[node] = out
        self._lifetimes.made(node, out, operands, args, into)
        for a in operands:
            self._used(a)

    def _used(self, node: Expr) -> None:
        if self._lifetimes.used(node):
            self.memo.pop(node, None)

    def _warn_if_new_nonfinite(self, e: Expr, out) -> None:
        """Record whether `out` is finite; a warning when it is not and its operands were."""
        finite = self._finite[e] = all_finite(out)
        if finite or not all(self._finite.get(a, True) for a in _operands(e)):
            return
        nan = bool(np.any(np.isnan(out)))
        self.warnings.append(f"{ascii_form(e)} gives {'NaN' if nan else 'an infinite value'} "
                             f"at these values{_domain_hint(e, nan)}")

    def jacobian(self, j: J.Jacobian, dense_limit: int | None = None):
        """The numbers of a structured Jacobian (values.jacobian_value)."""
        return jacobian_value(self, j, dense_limit)

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
            return float(concrete(e.value))
        if op in ("ones", "zeros"):
            shape = tuple(concrete(s) for s in e.shape)
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
            n = concrete(e.value)
            budget(n, n)
            out = np.eye(n)
        elif op == "diag":
            d = np.asarray(args[0], dtype=float)
            budget(d.size, d.size)
            out = np.diag(d)
        elif op == "kron":
            a, b = (_as_block(x) for x in args)
            budget(a.size, b.size)
            out = np.kron(a, b)
        elif op in ("hstack", "vstack"):
            blocks = [_as_block(a) for a in args]
            out = np.hstack(blocks) if op == "hstack" else np.vstack(blocks)
        elif op == "commutation":
            out = commutation_matrix(concrete(e.value[0]), concrete(e.value[1]))
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

def _as_block(x) -> np.ndarray:
    """A factor of kron or a block of hstack/vstack as a matrix: a vector is a column."""
    x = np.asarray(x, dtype=float)
    return x.reshape(-1, 1) if x.ndim == 1 else np.atleast_2d(x)


def _domain_hint(e: Expr, nan: bool) -> str:
    hints = {"log": " (log of a value <= 0)", "sqrt": " (sqrt of a negative value)",
             "div": " (division by zero)", "pow": " (a negative base with a fractional power, "
             "or overflow)", "tan": " (tan at an odd multiple of pi/2)"}
    if e.op in hints:
        return hints[e.op]
    return " (infinity minus infinity, or zero times infinity)" if nan else " (overflow)"
